/* SPDX-License-Identifier: Apache-2.0 */
/* netward can: can SRC reach DST on PORT, and which rule decided. */
#include "cli.h"

#include <netward/json.h>

#include <stdlib.h>

static const char usage[] =
	"Usage: netward can -f PATH... [options] SRC DST [PORT[/PROTO]]\n"
	"\n"
	"Answers, offline and from manifests, whether SRC can open a connection to DST,\n"
	"and which policy and rule decided, for egress (at SRC) and ingress (at DST).\n"
	"\n"
	"  SRC, DST   NS/POD, NS/KIND/NAME or an IP address. KIND is deployment,\n"
	"             statefulset, daemonset, replicaset, replicationcontroller, job,\n"
	"             cronjob, pod or service. A workload stands for its pods (or for\n"
	"             its pod template when the input holds none of its pods); a\n"
	"             service as DST stands for its backends, PORT being a service port.\n"
	"             An IP address no pod holds is a host outside the cluster.\n"
	"  PORT       a number or a named port (resolved on each destination pod),\n"
	"             optionally /TCP, /UDP or /SCTP (default TCP). Without PORT, the\n"
	"             answer lists the ports and protocols that are allowed.\n"
	"\n"
	"Options:\n"
	"  -o, --output FORMAT     text (default) or json\n" CLI_COMMON_HELP
	"\n"
	"Exit status: 0 allowed (every pod pair, every port), 1 denied (any), 2 usage or\n"
	"input error.\n";

static const int protos[] = { NW_PROTO_TCP, NW_PROTO_UDP, NW_PROTO_SCTP };

struct pair {
	struct nw_endpoint src, dst;
	uint16_t port;	  /* resolved destination port (0: none) */
	const char *note; /* why the port could not be resolved */
	struct nw_verdict v;
	struct nw_portset ports[3]; /* no-port mode */
	bool allowed;
};

static void endpoint_name(const struct nw_endpoint *e, struct nw_buf *out)
{
	char ip[NW_ADDR_STRLEN];

	if (e->pod != NULL) {
		cli_pod_name(e->pod, out);
		return;
	}
	nw_addr_format(&e->addr, ip);
	nw_buf_puts(out, ip);
}

/* Service port -> targetPort on one backend; 0 if unresolvable. */
static uint16_t service_target(const struct nw_service *s, const struct cli_port *cp, const struct nw_pod *pod,
			       const char **note)
{
	for (uint32_t i = 0; i < s->n_ports; i++) {
		const struct nw_svc_port *sp = &s->ports[i];
		bool match = sp->proto == cp->proto &&
			     (cp->name ? (sp->name != NULL && strcmp(sp->name, cp->name) == 0) : sp->port == cp->port);
		if (!match)
			continue;
		if (sp->target_name == NULL)
			return sp->target_port;
		for (uint32_t k = 0; pod->ports != NULL && k < pod->ports->n; k++)
			if (pod->ports->p[k].name != NULL && strcmp(pod->ports->p[k].name, sp->target_name) == 0 &&
			    pod->ports->p[k].proto == sp->proto)
				return pod->ports->p[k].port;
		*note = "the service's named targetPort is not a port of this backend";
		return 0;
	}
	*note = "not a port of the service";
	return 0;
}

static uint16_t resolve_port(const struct cli_target *dt, const struct cli_port *cp, const struct nw_pod *dst,
			     const char **note)
{
	if (dt->svc != NULL)
		return service_target(dt->svc, cp, dst, note);
	if (cp->name == NULL)
		return cp->port;
	for (uint32_t k = 0; dst != NULL && dst->ports != NULL && k < dst->ports->n; k++)
		if (dst->ports->p[k].name != NULL && strcmp(dst->ports->p[k].name, cp->name) == 0 &&
		    dst->ports->p[k].proto == cp->proto)
			return dst->ports->p[k].port;
	*note = "the destination has no port of that name and protocol";
	return 0;
}

static void json_dir(struct nw_json *j, const char *key, enum nw_dir dir, const struct nw_dir_verdict *dv,
		     const struct nw_endpoint *peer, const struct pair *pr)
{
	struct nw_buf b = { 0 };

	nw_json_key(j, key);
	nw_json_obj(j);
	if (dv->pod != NULL) {
		cli_pod_name(dv->pod, &b);
		nw_json_kstr(j, "pod", b.s);
	}
	nw_json_kbool(j, "applies", dv->applies);
	nw_json_kbool(j, "isolated", dv->isolated);
	nw_json_kbool(j, "allowed", dv->allowed);
	nw_json_key(j, "isolatedBy");
	nw_json_arr(j);
	for (size_t i = 0; i < dv->isolating.n; i++) {
		nw_buf_reset(&b);
		nw_policy_format_name(dv->isolating.v[i], &b);
		nw_json_str(j, b.s);
	}
	nw_json_arr_end(j);
	nw_json_key(j, "allowedBy");
	nw_json_arr(j);
	for (size_t i = 0; i < dv->allowed_by.n; i++) {
		const struct nw_match *m = &dv->allowed_by.v[i];
		const struct nw_rule *r = dir == NW_INGRESS ? &m->policy->in_rules[m->rule] : &m->policy->eg_rules[m->rule];

		nw_json_obj(j);
		nw_buf_reset(&b);
		nw_policy_format_name(m->policy, &b);
		nw_json_kstr(j, "policy", b.s);
		nw_buf_reset(&b);
		cli_rule_path(m->policy, dir, m, &b);
		nw_json_kstr(j, "rule", b.s);
		nw_buf_reset(&b);
		nw_loc_format(&r->loc, &b);
		nw_json_kstr(j, "location", b.s);
		nw_json_obj_end(j);
	}
	nw_json_arr_end(j);
	/* Near misses: for each isolating policy's rules, why they did not match. */
	if (dv->isolated && !dv->allowed) {
		nw_json_key(j, "notMatched");
		nw_json_arr(j);
		for (size_t i = 0; i < dv->isolating.n; i++) {
			const struct nw_policy *p = dv->isolating.v[i];
			uint32_t n;
			const struct nw_rule *rules = nw_policy_rules(p, dir, &n);

			for (uint32_t r = 0; r < n; r++) {
				int pi = nw_rule_peer_match(p, &rules[r], peer);

				nw_json_obj(j);
				nw_buf_reset(&b);
				nw_policy_format_name(p, &b);
				nw_json_kstr(j, "policy", b.s);
				nw_json_key(j, "rule");
				nw_json_strf(j, "%s[%u]", dir == NW_INGRESS ? "ingress" : "egress", r);
				nw_buf_reset(&b);
				if (pi == -2) {
					for (uint32_t k = 0; k < rules[r].n_peers; k++) {
						if (k)
							nw_buf_puts(&b, "; ");
						nw_buf_printf(&b, "%s[%u]: ", dir == NW_INGRESS ? "from" : "to", k);
						cli_peer_mismatch(p, &rules[r].peers[k], peer, &b);
					}
				} else {
					nw_buf_puts(&b, "peer matches, but the port is not among: ");
					cli_rule_ports_format(&rules[r], pr->dst.pod, &b);
				}
				nw_json_kstr(j, "reason", b.s);
				nw_json_obj_end(j);
			}
		}
		nw_json_arr_end(j);
	}
	nw_json_obj_end(j);
	nw_buf_free(&b);
}

static void text_dir(struct nw_buf *out, const char *label, enum nw_dir dir, const struct nw_dir_verdict *dv,
		     const struct nw_endpoint *peer, const struct pair *pr, int proto)
{
	struct nw_buf b = { 0 };

	nw_buf_printf(out, "  %-8s", label);
	if (dv->pod != NULL) {
		cli_pod_name(dv->pod, &b);
		nw_buf_printf(out, "%s: ", b.s);
	}
	if (!dv->applies) {
		if (dv->pod == NULL)
			nw_buf_puts(out, "(outside the cluster: no policy applies)\n");
		else
			nw_buf_puts(out, "not checked: hostNetwork pods are never policy subjects\n");
		nw_buf_free(&b);
		return;
	}
	if (!dv->isolated) {
		nw_buf_printf(out, "allowed: no NetworkPolicy selects it for %s\n",
			      dir == NW_INGRESS ? "ingress" : "egress");
		nw_buf_free(&b);
		return;
	}
	if (dv->allowed) {
		const struct nw_match *m = &dv->allowed_by.v[0];
		const struct nw_rule *r = dir == NW_INGRESS ? &m->policy->in_rules[m->rule] : &m->policy->eg_rules[m->rule];

		nw_buf_puts(out, "allowed by ");
		nw_policy_format_name(m->policy, out);
		nw_buf_putc(out, ' ');
		cli_rule_path(m->policy, dir, m, out);
		if (r->loc.file != NULL) {
			nw_buf_puts(out, " (");
			nw_loc_format(&r->loc, out);
			nw_buf_putc(out, ')');
		}
		if (dv->allowed_by.n > 1)
			nw_buf_printf(out, " and %zu more rule%s", dv->allowed_by.n - 1, dv->allowed_by.n > 2 ? "s" : "");
		nw_buf_putc(out, '\n');
		nw_buf_free(&b);
		return;
	}
	nw_buf_puts(out, "DENIED: isolated by ");
	for (size_t i = 0; i < dv->isolating.n; i++) {
		if (i)
			nw_buf_puts(out, ", ");
		nw_policy_format_name(dv->isolating.v[i], out);
	}
	nw_buf_puts(out, "; no rule matches\n");
	cli_explain_no_match(dv, dir, peer, pr->dst.pod, "      ",
			     pr->port == 0 && pr->note == NULL ? proto : 0, false, out);
	nw_buf_free(&b);
}

static void portset_text(const struct nw_portset *s, struct nw_buf *out)
{
	if (s->r.n == 0) {
		nw_buf_puts(out, "none");
		return;
	}
	if (nw_portset_full(s)) {
		nw_buf_puts(out, "all");
		return;
	}
	for (size_t i = 0; i < s->r.n; i++) {
		if (i)
			nw_buf_puts(out, ", ");
		if (s->r.v[i].lo == s->r.v[i].hi)
			nw_buf_printf(out, "%u", s->r.v[i].lo);
		else
			nw_buf_printf(out, "%u-%u", s->r.v[i].lo, s->r.v[i].hi);
	}
}

/* A signature of a verdict without pod names, to collapse alike pairs. */
static void signature(const struct pair *p, bool with_port, struct nw_buf *out)
{
	const struct nw_dir_verdict *d[2] = { &p->v.egress, &p->v.ingress };

	nw_buf_printf(out, "%d%d%d|", p->allowed, p->v.reason, p->port);
	if (!with_port) {
		for (int k = 0; k < 3; k++) {
			portset_text(&p->ports[k], out);
			nw_buf_putc(out, '|');
		}
		return;
	}
	for (int k = 0; k < 2; k++) {
		nw_buf_printf(out, "%d%d%d:", d[k]->applies, d[k]->isolated, d[k]->allowed);
		for (size_t i = 0; i < d[k]->isolating.n; i++)
			nw_buf_printf(out, "%p,", (const void *)d[k]->isolating.v[i]);
		for (size_t i = 0; i < d[k]->allowed_by.n; i++)
			nw_buf_printf(out, "%p/%u,", (const void *)d[k]->allowed_by.v[i].policy, d[k]->allowed_by.v[i].rule);
		nw_buf_putc(out, '|');
	}
}

int cmd_can(int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS, { NULL, 0, NULL, 0 } };
	static const char *const formats[] = { "text", "json", NULL };
	struct cli_common cc;
	struct nw_cluster c;
	struct nw_eval ev;
	struct cli_target st = { 0 }, dt = { 0 };
	struct cli_port cp = { 0 };
	NW_VEC(struct pair) pairs = { 0 };
	struct nw_buf out = { 0 }, err = { 0 };
	bool with_port, all_allowed = true, alike = true;
	int ret, opt, fmt_err = 0;

	cli_common_init(&cc);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:o:vh", opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			cli_common_fini(&cc);
			return EXIT_OK;
		}
		ret = cli_common_opt(&cc, "can", opt, optarg);
		if (ret != 0) {
			cli_common_fini(&cc);
			return ret > 0 ? ret : cli_usage_error("can", "unknown option");
		}
	}
	cli_output_is(&cc, "text", formats, "can", &fmt_err);
	if (fmt_err) {
		cli_common_fini(&cc);
		return fmt_err;
	}
	if (argc - optind < 2 || argc - optind > 3) {
		cli_common_fini(&cc);
		return cli_usage_error("can", "expected SRC DST [PORT[/PROTO]], got %d argument%s", argc - optind,
				       argc - optind == 1 ? "" : "s");
	}
	with_port = argc - optind == 3;
	if (with_port && !cli_port_parse(argv[optind + 2], &cp)) {
		cli_common_fini(&cc);
		return cli_usage_error("can", "\"%s\" is not PORT[/PROTO] (PORT 1-65535 or a port name; PROTO TCP, UDP or SCTP)",
				       argv[optind + 2]);
	}
	ret = cli_load(&cc, "can", &c);
	if (ret != EXIT_OK) {
		free((char *)cp.name);
		cli_common_fini(&cc);
		return ret;
	}
	if (cli_target_resolve(&c, argv[optind], &st, &err) != 0 ||
	    cli_target_resolve(&c, argv[optind + 1], &dt, &err) != 0) {
		ret = cli_usage_error("can", "%s", err.s);
		goto out_targets;
	}
	if (st.pods.n == 0 && dt.pods.n == 0) {
		ret = cli_usage_error("can", "neither SRC nor DST is in the cluster; no policy applies to them");
		goto out_targets;
	}
	nw_eval_init(&ev, &c);
	for (size_t i = 0; i < NW_MAX(st.pods.n, (size_t)1); i++) {
		for (size_t j = 0; j < NW_MAX(dt.pods.n, (size_t)1); j++) {
			struct pair pr = { 0 };
			const struct nw_pod *sp = st.pods.n ? st.pods.v[i] : NULL;
			const struct nw_pod *dp = dt.pods.n ? dt.pods.v[j] : NULL;
			int fam = cc.family;

			if (sp && dp)
				fam = nw_pair_family(sp, dp, cc.family);
			else if (!sp)
				fam = st.addr.family;
			else
				fam = dt.addr.family;
			if (sp) {
				pr.src = nw_endpoint_pod(sp, fam);
			} else {
				pr.src.addr = st.addr;
			}
			if (dp) {
				pr.dst = nw_endpoint_pod(dp, fam);
			} else {
				pr.dst.addr = dt.addr;
			}
			if (with_port) {
				pr.port = resolve_port(&dt, &cp, dp, &pr.note);
				if (pr.port) {
					nw_eval_pair(&ev, &pr.src, &pr.dst, cp.proto, pr.port, &pr.v);
					pr.allowed = pr.v.allowed;
				}
			} else {
				pr.allowed = true;
				for (int k = 0; k < 3; k++) {
					nw_eval_ports(&ev, &pr.src, &pr.dst, protos[k], &pr.ports[k]);
					if (!nw_portset_full(&pr.ports[k]))
						pr.allowed = false;
				}
			}
			if (!pr.allowed)
				all_allowed = false;
			nw_vec_push(&pairs, pr);
		}
	}
	{
		struct nw_buf s0 = { 0 }, s1 = { 0 };
		signature(&pairs.v[0], with_port, &s0);
		for (size_t i = 1; i < pairs.n && alike; i++) {
			nw_buf_reset(&s1);
			signature(&pairs.v[i], with_port, &s1);
			alike = strcmp(s0.s, s1.s) == 0;
		}
		nw_buf_free(&s0);
		nw_buf_free(&s1);
	}

	if (cc.output != NULL && strcmp(cc.output, "json") == 0) {
		struct nw_json j;
		struct nw_buf b = { 0 };

		nw_json_init(&j, &out, 1);
		nw_json_obj(&j);
		nw_json_kstr(&j, "kind", "Verdict");
		nw_json_kstr(&j, "from", argv[optind]);
		nw_json_kstr(&j, "to", argv[optind + 1]);
		if (with_port)
			nw_json_kstr(&j, "port", argv[optind + 2]);
		nw_json_kbool(&j, "allowed", all_allowed);
		nw_json_key(&j, "pairs");
		nw_json_arr(&j);
		for (size_t i = 0; i < pairs.n; i++) {
			const struct pair *pr = &pairs.v[i];
			char ip[NW_ADDR_STRLEN];

			nw_json_obj(&j);
			nw_buf_reset(&b);
			endpoint_name(&pr->src, &b);
			nw_json_kstr(&j, "from", b.s);
			nw_buf_reset(&b);
			endpoint_name(&pr->dst, &b);
			nw_json_kstr(&j, "to", b.s);
			nw_addr_format(&pr->src.addr, ip);
			nw_json_kstr(&j, "fromIP", pr->src.addr.family ? ip : NULL);
			nw_addr_format(&pr->dst.addr, ip);
			nw_json_kstr(&j, "toIP", pr->dst.addr.family ? ip : NULL);
			nw_json_kbool(&j, "allowed", pr->allowed);
			if (with_port) {
				if (pr->port) {
					nw_buf_reset(&b);
					cli_port_format(cp.proto, pr->port, &b);
					nw_json_kstr(&j, "port", b.s);
				}
				if (pr->note) {
					nw_json_kstr(&j, "error", pr->note);
				} else {
					nw_json_kstr(&j, "reason", pr->v.reason == NW_REASON_SELF   ? "self"
								  : pr->v.reason == NW_REASON_NODE ? "node"
												   : "policy");
					json_dir(&j, "egress", NW_EGRESS, &pr->v.egress, &pr->dst, pr);
					json_dir(&j, "ingress", NW_INGRESS, &pr->v.ingress, &pr->src, pr);
				}
			} else {
				nw_json_key(&j, "allowedPorts");
				nw_json_obj(&j);
				for (int k = 0; k < 3; k++) {
					nw_json_key(&j, nw_proto_name(protos[k]));
					nw_json_arr(&j);
					for (size_t r = 0; r < pr->ports[k].r.n; r++) {
						const struct nw_port_range *pg = &pr->ports[k].r.v[r];
						if (pg->lo == pg->hi)
							nw_json_strf(&j, "%u", pg->lo);
						else
							nw_json_strf(&j, "%u-%u", pg->lo, pg->hi);
					}
					nw_json_arr_end(&j);
				}
				nw_json_obj_end(&j);
			}
			nw_json_obj_end(&j);
		}
		nw_json_arr_end(&j);
		nw_json_obj_end(&j);
		nw_buf_free(&b);
	} else {
		size_t shown = alike ? 1 : pairs.n;

		if (pairs.n > 1 && alike)
			nw_buf_printf(&out, "%s for all %zu pod pairs of %s -> %s, each alike:\n",
				      all_allowed ? "ALLOWED" : "DENIED", pairs.n, argv[optind], argv[optind + 1]);
		for (size_t i = 0; i < shown; i++) {
			const struct pair *pr = &pairs.v[i];
			char sip[NW_ADDR_STRLEN], dip[NW_ADDR_STRLEN];

			nw_buf_puts(&out, pr->allowed ? "ALLOWED " : with_port ? "DENIED  " : "LIMITED ");
			endpoint_name(&pr->src, &out);
			nw_buf_puts(&out, " -> ");
			endpoint_name(&pr->dst, &out);
			if (with_port && pr->port) {
				nw_buf_puts(&out, " on ");
				cli_port_format(cp.proto, pr->port, &out);
				if (cp.name != NULL || dt.svc != NULL)
					nw_buf_printf(&out, " (%s)", argv[optind + 2]);
			}
			nw_addr_format(&pr->src.addr, sip);
			nw_addr_format(&pr->dst.addr, dip);
			if (pr->src.addr.family || pr->dst.addr.family)
				nw_buf_printf(&out, "  [%s -> %s]", sip, dip);
			nw_buf_putc(&out, '\n');
			if (with_port && pr->note != NULL) {
				nw_buf_printf(&out, "  port %s: %s\n", argv[optind + 2], pr->note);
				continue;
			}
			if (!with_port) {
				for (int k = 0; k < 3; k++) {
					nw_buf_printf(&out, "  %-5s ports allowed: ", nw_proto_name(protos[k]));
					portset_text(&pr->ports[k], &out);
					nw_buf_putc(&out, '\n');
				}
				if (!pr->allowed)
					nw_buf_printf(&out, "  (name a port to see which policy decides: netward can ... %s %s PORT)\n",
						      argv[optind], argv[optind + 1]);
				continue;
			}
			if (pr->v.reason == NW_REASON_SELF) {
				nw_buf_puts(&out, "  a pod can always reach itself (loopback never reaches the netfilter hooks)\n");
				continue;
			}
			if (pr->v.reason == NW_REASON_NODE) {
				nw_buf_puts(&out, "  a node can always reach its own pods (kubelet probes)\n");
				continue;
			}
			text_dir(&out, "egress", NW_EGRESS, &pr->v.egress, &pr->dst, pr, cp.proto);
			text_dir(&out, "ingress", NW_INGRESS, &pr->v.ingress, &pr->src, pr, cp.proto);
		}
	}
	ret = cli_write_stdout(&out);
	if (ret == EXIT_OK)
		ret = all_allowed ? EXIT_OK : EXIT_DENIED;

	for (size_t i = 0; i < pairs.n; i++) {
		nw_verdict_fini(&pairs.v[i].v);
		for (int k = 0; k < 3; k++)
			nw_portset_free(&pairs.v[i].ports[k]);
	}
	nw_vec_free(&pairs);
	nw_eval_fini(&ev);
out_targets:
	cli_target_fini(&st);
	cli_target_fini(&dt);
	nw_cluster_free(&c);
	nw_buf_free(&out);
	nw_buf_free(&err);
	free((char *)cp.name);
	cli_common_fini(&cc);
	return ret;
}
