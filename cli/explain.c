/* SPDX-License-Identifier: Apache-2.0 */
/* netward explain: the policies that select a pod and what they allow. */
#include "cli.h"

#include <netward/json.h>

#include <stdlib.h>

static const char usage[] =
	"Usage: netward explain -f PATH... [options] NS/POD | NS/KIND/NAME\n"
	"\n"
	"Shows the NetworkPolicies that select a pod (or a workload's pods), whether it\n"
	"is isolated for ingress and for egress, and its effective rules with peers\n"
	"resolved to pods and IP ranges and named ports resolved where they can be.\n"
	"\n"
	"Options:\n"
	"  -o, --output FORMAT     text (default) or json\n" CLI_COMMON_HELP "\n"
	"Exit status: 0 explained, 2 usage or input error.\n";

#define MAX_LISTED 12

NW_VEC_DECL(pod_vec, const struct nw_pod *);

/* Pods a peer selects. */
static void peer_pods(const struct nw_cluster *c, const struct nw_policy *p, const struct nw_peer *peer, int family,
		      struct pod_vec *out)
{
	for (size_t i = 0; i < c->pods.n; i++) {
		struct nw_endpoint e = nw_endpoint_pod(c->pods.v[i], family);
		if (nw_peer_matches(p, peer, &e))
			nw_vec_push(out, c->pods.v[i]);
	}
}

static void peer_text(const struct nw_cluster *c, const struct nw_policy *p, const struct nw_peer *peer, int family,
		      int verbose, struct nw_buf *out)
{
	struct pod_vec pods = { 0 };

	if (peer->ipblock != NULL) {
		nw_buf_printf(out, "ipBlock %s = ", peer->ipblock->text);
		nw_rangeset_format(&peer->ipblock->ranges, out);
	} else {
		if (peer->ns_sel != NULL) {
			nw_buf_puts(out, "namespaceSelector ");
			nw_selector_format(peer->ns_sel, out);
		} else {
			nw_buf_printf(out, "namespace %s", p->ns->name);
		}
		if (peer->pod_sel != NULL) {
			nw_buf_puts(out, " podSelector ");
			nw_selector_format(peer->pod_sel, out);
		}
	}
	peer_pods(c, p, peer, family, &pods);
	nw_buf_printf(out, "\n            -> %zu pod%s", pods.n, pods.n == 1 ? "" : "s");
	for (size_t i = 0; i < pods.n && (verbose || i < MAX_LISTED); i++) {
		nw_buf_puts(out, i ? ", " : ": ");
		cli_pod_name(pods.v[i], out);
	}
	if (!verbose && pods.n > MAX_LISTED)
		nw_buf_printf(out, ", ... (%zu more; -v lists all)", pods.n - MAX_LISTED);
	nw_buf_putc(out, '\n');
	nw_vec_free(&pods);
}

static void explain_dir(const struct nw_cluster *c, const struct nw_eval *ev, const struct nw_pod *pod,
			enum nw_dir dir, int family, int verbose, struct nw_buf *out)
{
	const char *dname = dir == NW_INGRESS ? "Ingress" : "Egress";
	size_t n_sel = 0;

	if (pod->host_network) {
		nw_buf_printf(out, "%s: not enforced (hostNetwork pods are never policy subjects)\n", dname);
		return;
	}
	for (size_t i = 0; i < ev->by_ns[pod->ns->idx].n; i++) {
		const struct nw_policy *p = ev->by_ns[pod->ns->idx].v[i];
		if ((dir == NW_INGRESS ? p->ingress : p->egress) && nw_policy_selects(p, pod))
			n_sel++;
	}
	if (n_sel == 0) {
		nw_buf_printf(out, "%s: not isolated: every %s is allowed\n", dname,
			      dir == NW_INGRESS ? "source" : "destination");
		return;
	}
	nw_buf_printf(out, "%s: isolated by %zu polic%s; allowed %s only what these rules allow (their union):\n",
		      dname, n_sel, n_sel == 1 ? "y" : "ies", dir == NW_INGRESS ? "in is" : "out is");
	for (size_t i = 0; i < ev->by_ns[pod->ns->idx].n; i++) {
		const struct nw_policy *p = ev->by_ns[pod->ns->idx].v[i];
		uint32_t n;
		const struct nw_rule *rules = nw_policy_rules(p, dir, &n);

		if (!(dir == NW_INGRESS ? p->ingress : p->egress) || !nw_policy_selects(p, pod))
			continue;
		nw_buf_puts(out, "  ");
		nw_policy_format_name(p, out);
		if (p->loc.file != NULL) {
			nw_buf_puts(out, " (");
			nw_loc_format(&p->loc, out);
			nw_buf_putc(out, ')');
		}
		if (n == 0) {
			nw_buf_printf(out, ": no %s rules: allows nothing\n", dir == NW_INGRESS ? "ingress" : "egress");
			continue;
		}
		nw_buf_putc(out, '\n');
		for (uint32_t r = 0; r < n; r++) {
			nw_buf_printf(out, "    %s[%u]\n", dir == NW_INGRESS ? "ingress" : "egress", r);
			nw_buf_printf(out, "      %-6s ", dir == NW_INGRESS ? "from:" : "to:");
			if (rules[r].n_peers == 0)
				nw_buf_printf(out, "%s\n", dir == NW_INGRESS ? "any source (pods and addresses)"
									   : "any destination (pods and addresses)");
			for (uint32_t k = 0; k < rules[r].n_peers; k++) {
				if (k)
					nw_buf_puts(out, "          or ");
				peer_text(c, p, &rules[r].peers[k], family, verbose, out);
			}
			nw_buf_puts(out, "      ports: ");
			cli_rule_ports_format(&rules[r], dir == NW_INGRESS ? pod : NULL, out);
			if (dir == NW_EGRESS)
				for (uint32_t k = 0; k < rules[r].n_ports; k++)
					if (rules[r].ports[k].name != NULL) {
						nw_buf_puts(out, " (named ports resolve on each destination pod)");
						break;
					}
			nw_buf_putc(out, '\n');
		}
	}
}

static void json_dir(const struct nw_cluster *c, const struct nw_eval *ev, const struct nw_pod *pod, enum nw_dir dir,
		     int family, struct nw_json *j)
{
	struct nw_buf b = { 0 };
	bool isolated = false;

	nw_json_key(j, dir == NW_INGRESS ? "ingress" : "egress");
	nw_json_obj(j);
	nw_json_key(j, "policies");
	nw_json_arr(j);
	for (size_t i = 0; !pod->host_network && i < ev->by_ns[pod->ns->idx].n; i++) {
		const struct nw_policy *p = ev->by_ns[pod->ns->idx].v[i];
		uint32_t n;
		const struct nw_rule *rules = nw_policy_rules(p, dir, &n);

		if (!(dir == NW_INGRESS ? p->ingress : p->egress) || !nw_policy_selects(p, pod))
			continue;
		isolated = true;
		nw_json_obj(j);
		nw_buf_reset(&b);
		nw_policy_format_name(p, &b);
		nw_json_kstr(j, "name", b.s);
		nw_buf_reset(&b);
		nw_loc_format(&p->loc, &b);
		nw_json_kstr(j, "location", b.s);
		nw_json_key(j, "rules");
		nw_json_arr(j);
		for (uint32_t r = 0; r < n; r++) {
			nw_json_obj(j);
			nw_json_key(j, "peers");
			if (rules[r].n_peers == 0) {
				nw_json_str(j, "all");
			} else {
				nw_json_arr(j);
				for (uint32_t k = 0; k < rules[r].n_peers; k++) {
					const struct nw_peer *peer = &rules[r].peers[k];
					struct pod_vec pods = { 0 };

					nw_json_obj(j);
					if (peer->ipblock != NULL) {
						nw_json_kstr(j, "ipBlock", peer->ipblock->text);
						nw_buf_reset(&b);
						nw_rangeset_format(&peer->ipblock->ranges, &b);
						nw_json_kstr(j, "ranges", b.s);
					}
					if (peer->ns_sel != NULL) {
						nw_buf_reset(&b);
						nw_selector_format(peer->ns_sel, &b);
						nw_json_kstr(j, "namespaceSelector", b.s);
					}
					if (peer->pod_sel != NULL) {
						nw_buf_reset(&b);
						nw_selector_format(peer->pod_sel, &b);
						nw_json_kstr(j, "podSelector", b.s);
					}
					peer_pods(c, p, peer, family, &pods);
					nw_json_key(j, "pods");
					nw_json_arr(j);
					for (size_t i2 = 0; i2 < pods.n; i2++) {
						nw_buf_reset(&b);
						cli_pod_name(pods.v[i2], &b);
						nw_json_str(j, b.s);
					}
					nw_json_arr_end(j);
					nw_vec_free(&pods);
					nw_json_obj_end(j);
				}
				nw_json_arr_end(j);
			}
			nw_buf_reset(&b);
			cli_rule_ports_format(&rules[r], dir == NW_INGRESS ? pod : NULL, &b);
			nw_json_kstr(j, "ports", b.s);
			nw_json_obj_end(j);
		}
		nw_json_arr_end(j);
		nw_json_obj_end(j);
	}
	nw_json_arr_end(j);
	nw_json_kbool(j, "isolated", isolated);
	nw_json_obj_end(j);
	nw_buf_free(&b);
}

int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS, { NULL, 0, NULL, 0 } };
	static const char *const formats[] = { "text", "json", NULL };
	struct cli_common cc;
	struct nw_cluster c;
	struct nw_eval ev;
	struct nw_json j;
	struct cli_target t = { 0 };
	struct nw_buf out = { 0 }, err = { 0 };
	int ret, opt, fmt_err = 0, family;
	bool json;

	cli_common_init(&cc);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:o:vh", opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			cli_common_fini(&cc);
			return EXIT_OK;
		}
		ret = cli_common_opt(&cc, "explain", opt, optarg);
		if (ret != 0) {
			cli_common_fini(&cc);
			return ret > 0 ? ret : cli_usage_error("explain", "unknown option");
		}
	}
	cli_output_is(&cc, "text", formats, "explain", &fmt_err);
	if (fmt_err) {
		cli_common_fini(&cc);
		return fmt_err;
	}
	if (argc - optind != 1) {
		cli_common_fini(&cc);
		return cli_usage_error("explain", "expected one NS/POD or NS/KIND/NAME");
	}
	json = cc.output != NULL && strcmp(cc.output, "json") == 0;
	ret = cli_load(&cc, "explain", &c);
	if (ret != EXIT_OK) {
		cli_common_fini(&cc);
		return ret;
	}
	if (cli_target_resolve(&c, argv[optind], &t, &err) != 0 || t.pods.n == 0) {
		ret = cli_usage_error("explain", "%s", err.len ? err.s : "that address is no pod's");
		goto out;
	}
	family = cli_family(&cc, &c);
	nw_eval_init(&ev, &c);
	nw_json_init(&j, &out, 2);
	if (json) {
		nw_json_obj(&j);
		nw_json_kstr(&j, "kind", "Explanation");
		nw_json_key(&j, "pods");
		nw_json_arr(&j);
	}
	for (size_t i = 0; i < t.pods.n; i++) {
		const struct nw_pod *pod = t.pods.v[i];
		char ip[NW_ADDR_STRLEN];

		if (json) {
			struct nw_buf b = { 0 };

			nw_json_obj(&j);
			cli_pod_name(pod, &b);
			nw_json_kstr(&j, "pod", b.s);
			nw_buf_reset(&b);
			nw_labels_format(pod->labels, &b);
			nw_json_kstr(&j, "labels", b.s);
			nw_json_key(&j, "ips");
			nw_json_arr(&j);
			for (uint8_t k = 0; k < pod->n_ips; k++) {
				nw_addr_format(&pod->ips[k], ip);
				nw_json_str(&j, ip);
			}
			nw_json_arr_end(&j);
			nw_json_kbool(&j, "hostNetwork", pod->host_network);
			nw_json_kbool(&j, "fromTemplate", pod->synthetic);
			json_dir(&c, &ev, pod, NW_INGRESS, family, &j);
			json_dir(&c, &ev, pod, NW_EGRESS, family, &j);
			nw_json_obj_end(&j);
			nw_buf_free(&b);
			continue;
		}
		if (i)
			nw_buf_putc(&out, '\n');
		nw_buf_puts(&out, "Pod ");
		cli_pod_name(pod, &out);
		nw_buf_puts(&out, pod->synthetic ? " (from the pod template of " : "");
		if (pod->synthetic)
			nw_buf_printf(&out, "%s %s)", pod->owner_kind, pod->owner_name);
		nw_buf_puts(&out, "\n  labels: ");
		nw_labels_format(pod->labels, &out);
		nw_buf_puts(&out, "\n  addresses: ");
		for (uint8_t k = 0; k < pod->n_ips; k++) {
			nw_addr_format(&pod->ips[k], ip);
			nw_buf_printf(&out, "%s%s", k ? ", " : "", ip);
		}
		if (pod->n_ips == 0)
			nw_buf_puts(&out, "none (ipBlocks never match it)");
		if (pod->ports != NULL && pod->ports->n) {
			nw_buf_puts(&out, "\n  ports:");
			for (uint32_t k = 0; k < pod->ports->n; k++)
				nw_buf_printf(&out, " %u/%s%s%s", pod->ports->p[k].port, nw_proto_name(pod->ports->p[k].proto),
					      pod->ports->p[k].name ? "=" : "", pod->ports->p[k].name ? pod->ports->p[k].name : "");
		}
		if (pod->host_network)
			nw_buf_puts(&out, "\n  hostNetwork: true");
		nw_buf_putc(&out, '\n');
		explain_dir(&c, &ev, pod, NW_INGRESS, family, cc.verbose, &out);
		explain_dir(&c, &ev, pod, NW_EGRESS, family, cc.verbose, &out);
	}
	if (json) {
		nw_json_arr_end(&j);
		nw_json_obj_end(&j);
	}
	ret = cli_write_stdout(&out);
	nw_eval_fini(&ev);
out:
	cli_target_fini(&t);
	nw_cluster_free(&c);
	nw_buf_free(&out);
	nw_buf_free(&err);
	cli_common_fini(&cc);
	return ret;
}
