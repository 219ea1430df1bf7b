/* SPDX-License-Identifier: Apache-2.0 */
/* netward lint: the checks, and the text/JSON/SARIF/GitHub writers. */
#include <netward/json.h>
#include <netward/lint.h>

#include <stdio.h>
#include <stdlib.h>

const struct nw_lint_rule nw_lint_rules[NW_LINT__COUNT] = {
	[NW_LINT_INVALID] = { "NP000", "invalid-manifest", NW_SEV_ERROR,
			      "The manifest is not valid: the API server would reject it, or read it differently",
			      "Fix the field the message names." },
	[NW_LINT_POLICY_SELECTS_NOTHING] = { "NP001", "policy-selects-nothing", NW_SEV_WARNING,
					     "The policy's podSelector selects no pod of its namespace",
					     "Check the labels against the workloads' pod templates: the policy has no effect." },
	[NW_LINT_PEER_SELECTS_NOTHING] = { "NP002", "peer-selects-nothing", NW_SEV_WARNING,
					   "A from/to peer selects no pod or no namespace",
					   "Check the labels and the namespace labels: the peer allows nothing." },
	[NW_LINT_NAMED_PORT_UNDEFINED] = { "NP003", "named-port-undefined", NW_SEV_WARNING,
					   "A named port that no destination pod has (with that protocol)",
					   "Name a containerPort of the destination pods, or use the number." },
	[NW_LINT_UNISOLATED_POD] = { "NP004", "unisolated-pod", NW_SEV_WARNING,
				     "A pod left unisolated where the rest of its namespace is isolated",
				     "Add a default-deny policy for the namespace, or select this pod too." },
	[NW_LINT_EGRESS_WITHOUT_DNS] = { "NP005", "egress-without-dns", NW_SEV_WARNING,
					 "Pods isolated for egress with no rule allowing DNS",
					 "Allow UDP and TCP port 53 to the cluster DNS (kube-system, k8s-app=kube-dns)." },
	[NW_LINT_IPBLOCK_COVERS_PODS] = { "NP006", "ipblock-covers-pods", NW_SEV_WARNING,
					  "An ipBlock covers pod addresses",
					  "ipBlock is meant for addresses outside the cluster; CNIs differ on pod traffic. "
					  "Select the pods with podSelector/namespaceSelector, or add an except." },
	[NW_LINT_REDUNDANT_RULE] = { "NP007", "redundant-rule", NW_SEV_WARNING,
				     "A rule allows nothing that another rule does not already allow",
				     "Remove it, or fix it if it was meant to allow something else." },
	[NW_LINT_ENDPORT_MISUSE] = { "NP008", "endport-misuse", NW_SEV_ERROR,
				     "endPort without a numeric port, below port, or spanning every port",
				     "endPort needs a numeric port <= endPort; for every port, leave port out." },
	[NW_LINT_EGRESS_RULES_IGNORED] = { "NP009", "egress-rules-ignored", NW_SEV_WARNING,
					   "Egress rules in a policy whose policyTypes lacks Egress",
					   "Add Egress to policyTypes, or remove the egress rules." },
	[NW_LINT_EGRESS_ONLY_ISOLATES_INGRESS] = { "NP010", "egress-only-isolates-ingress", NW_SEV_WARNING,
						   "A policy with only egress rules and no policyTypes also denies all ingress",
						   "Set policyTypes: [Egress] if only egress was meant." },
	[NW_LINT_PEERS_OR_NOT_AND] = { "NP011", "peers-or-not-and", NW_SEV_NOTE,
				       "A namespaceSelector peer and a podSelector peer side by side are ORed",
				       "For pods with these labels in those namespaces, put both selectors in one peer "
				       "(no '-' before podSelector)." },
};

int nw_lint_rule_find(const char *s)
{
	for (int i = 0; i < NW_LINT__COUNT; i++)
		if (strcmp(nw_lint_rules[i].id, s) == 0 || strcmp(nw_lint_rules[i].name, s) == 0)
			return i;
	return -1;
}

static NW_PRINTF(5, 6) void add(struct nw_lint *l, int rule, enum nw_sev sev, const struct nw_loc *loc, const char *fmt,
				...)
{
	struct nw_finding f = { 0 };
	va_list ap;
	struct nw_buf b = { 0 };

	if (l->disabled[rule])
		return;
	f.rule = rule;
	f.sev = sev;
	if (loc != NULL && loc->file != NULL) {
		f.file = nw_xstrdup(loc->file);
		f.line = loc->line;
		f.col = loc->col;
	}
	va_start(ap, fmt);
	nw_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	f.msg = nw_buf_steal(&b);
	nw_vec_push(&l->findings, f);
}

static void set_object(struct nw_lint *l, const struct nw_policy *p)
{
	struct nw_buf b = { 0 };

	if (l->findings.n == 0)
		return;
	nw_buf_puts(&b, "NetworkPolicy ");
	nw_policy_format_name(p, &b);
	free(l->findings.v[l->findings.n - 1].object);
	l->findings.v[l->findings.n - 1].object = nw_buf_steal(&b);
}

static const char *dir_name(enum nw_dir d)
{
	return d == NW_INGRESS ? "ingress" : "egress";
}

static const char *peer_key(enum nw_dir d)
{
	return d == NW_INGRESS ? "from" : "to";
}

/* Pods of namespace ns in the input (hostNetwork pods are never subjects). */
static size_t ns_pods(const struct nw_cluster *c, const struct nw_namespace *ns)
{
	size_t n = 0;

	for (size_t i = 0; i < c->pods.n; i++)
		if (c->pods.v[i]->ns == ns && !c->pods.v[i]->host_network)
			n++;
	return n;
}

static bool user_policy(const struct nw_policy *p)
{
	return p->origin == NULL;
}

/* NP001 */
static void policy_selects_nothing(struct nw_lint *l, const struct nw_cluster *c)
{
	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *p = c->policies.v[i];
		size_t total = ns_pods(c, p->ns), hit = 0;
		struct nw_buf sel = { 0 };

		if (!user_policy(p) || total == 0)
			continue;
		for (size_t k = 0; k < c->pods.n; k++)
			hit += nw_policy_selects(p, c->pods.v[k]);
		if (hit)
			continue;
		nw_selector_format(p->pod_sel, &sel);
		add(l, NW_LINT_POLICY_SELECTS_NOTHING, NW_SEV_WARNING, p->pod_sel->loc.file ? &p->pod_sel->loc : &p->loc,
		    "spec.podSelector %s selects none of the %zu pods of namespace %s: the policy has no effect", sel.s,
		    total, p->ns->name);
		set_object(l, p);
		nw_buf_free(&sel);
	}
}

/* A namespaceSelector that names namespaces (kubernetes.io/metadata.name) points outside the input when they are absent. */
static bool names_namespace(const struct nw_selector *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (strcmp(s->reqs[i].key, "kubernetes.io/metadata.name") == 0 && s->reqs[i].op == NW_SEL_IN)
			return true;
	return false;
}

/* NP002 */
static void peer_selects_nothing(struct nw_lint *l, const struct nw_cluster *c)
{
	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *p = c->policies.v[i];

		if (!user_policy(p))
			continue;
		for (int d = 0; d < 2; d++) {
			uint32_t n;
			const struct nw_rule *rules = nw_policy_rules(p, (enum nw_dir)d, &n);

			for (uint32_t r = 0; r < n; r++) {
				for (uint32_t k = 0; k < rules[r].n_peers; k++) {
					const struct nw_peer *peer = &rules[r].peers[k];
					size_t nss = 0, with_pods = 0, hits = 0;
					struct nw_buf b = { 0 }, where = { 0 };

					if (peer->ipblock != NULL)
						continue;
					for (size_t x = 0; x < c->namespaces.n; x++) {
						const struct nw_namespace *ns = c->namespaces.v[x];
						bool in = peer->ns_sel ? nw_selector_matches(peer->ns_sel, ns->labels) : ns == p->ns;
						size_t np;

						if (!in)
							continue;
						nss++;
						np = ns_pods(c, ns);
						if (np)
							with_pods++;
						if (where.len < 200)
							nw_buf_printf(&where, "%s%s", where.len ? ", " : "", ns->name);
					}
					if (nss == 0) {
						if (!names_namespace(peer->ns_sel)) {
							nw_selector_format(peer->ns_sel, &b);
							add(l, NW_LINT_PEER_SELECTS_NOTHING, NW_SEV_WARNING, &peer->loc,
							    "%s[%u].%s[%u]: namespaceSelector %s matches no namespace of the input",
							    dir_name((enum nw_dir)d), r, peer_key((enum nw_dir)d), k, b.s);
							set_object(l, p);
						}
						nw_buf_free(&b);
						nw_buf_free(&where);
						continue;
					}
					for (size_t x = 0; x < c->pods.n; x++) {
						struct nw_endpoint e = { c->pods.v[x], { 0, 0 } };
						hits += nw_peer_matches(p, peer, &e);
					}
					if (hits == 0 && with_pods > 0 && peer->pod_sel != NULL) {
						nw_selector_format(peer->pod_sel, &b);
						add(l, NW_LINT_PEER_SELECTS_NOTHING, NW_SEV_WARNING, &peer->loc,
						    "%s[%u].%s[%u]: podSelector %s matches no pod in %s %s: the peer allows nothing",
						    dir_name((enum nw_dir)d), r, peer_key((enum nw_dir)d), k, b.s,
						    nss == 1 ? "namespace" : "namespaces", where.s);
						set_object(l, p);
					}
					nw_buf_free(&b);
					nw_buf_free(&where);
				}
			}
		}
	}
}

/* NP003: named ports resolve on the destination: the selected pods (ingress), the peers' pods (egress). */
static void named_ports(struct nw_lint *l, const struct nw_cluster *c)
{
	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *p = c->policies.v[i];

		if (!user_policy(p))
			continue;
		for (int d = 0; d < 2; d++) {
			uint32_t n;
			const struct nw_rule *rules = nw_policy_rules(p, (enum nw_dir)d, &n);

			for (uint32_t r = 0; r < n; r++) {
				for (uint32_t k = 0; k < rules[r].n_ports; k++) {
					const struct nw_np_port *pe = &rules[r].ports[k];
					size_t dests = 0, have = 0, other_proto = 0;
					bool ipblock_only = rules[r].n_peers > 0;

					if (pe->name == NULL)
						continue;
					for (uint32_t x = 0; x < rules[r].n_peers; x++)
						if (rules[r].peers[x].ipblock == NULL)
							ipblock_only = false;
					for (size_t x = 0; x < c->pods.n; x++) {
						const struct nw_pod *pod = c->pods.v[x];
						bool dest;

						if (d == NW_INGRESS) {
							dest = nw_policy_selects(p, pod);
						} else if (ipblock_only) {
							dest = false;
						} else {
							struct nw_endpoint e = { pod, { 0, 0 } };
							int pm = nw_rule_peer_match(p, &rules[r], &e);
							dest = pm != -2;
						}
						if (!dest)
							continue;
						dests++;
						for (uint32_t y = 0; pod->ports != NULL && y < pod->ports->n; y++) {
							if (pod->ports->p[y].name == NULL || strcmp(pod->ports->p[y].name, pe->name) != 0)
								continue;
							if (pod->ports->p[y].proto == pe->proto)
								have++;
							else
								other_proto++;
						}
					}
					if (dests == 0 || have > 0)
						continue;
					if (other_proto)
						add(l, NW_LINT_NAMED_PORT_UNDEFINED, NW_SEV_WARNING, &pe->loc,
						    "%s[%u].ports[%u]: the destination pods name a port \"%s\", but not for %s "
						    "(protocol defaults to TCP): this entry opens nothing",
						    dir_name((enum nw_dir)d), r, k, pe->name, nw_proto_name(pe->proto));
					else
						add(l, NW_LINT_NAMED_PORT_UNDEFINED, NW_SEV_WARNING, &pe->loc,
						    "%s[%u].ports[%u]: none of the %zu destination pods has a %s container port named "
						    "\"%s\": this entry opens nothing",
						    dir_name((enum nw_dir)d), r, k, dests, nw_proto_name(pe->proto), pe->name);
					set_object(l, p);
				}
			}
		}
	}
}

static const struct nw_policy *first_isolating(const struct nw_cluster *c, const struct nw_pod *pod, enum nw_dir d)
{
	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *p = c->policies.v[i];
		if ((d == NW_INGRESS ? p->ingress : p->egress) && nw_policy_selects(p, pod))
			return p;
	}
	return NULL;
}

/* NP004 */
static void unisolated(struct nw_lint *l, const struct nw_cluster *c)
{
	for (size_t x = 0; x < c->namespaces.n; x++) {
		const struct nw_namespace *ns = c->namespaces.v[x];

		for (int d = 0; d < 2; d++) {
			size_t total = 0, iso = 0;
			const struct nw_policy *example = NULL;

			for (size_t i = 0; i < c->pods.n; i++) {
				const struct nw_pod *pod = c->pods.v[i];
				const struct nw_policy *p;

				if (pod->ns != ns || pod->host_network)
					continue;
				total++;
				p = first_isolating(c, pod, (enum nw_dir)d);
				if (p) {
					iso++;
					example = example ? example : p;
				}
			}
			if (iso == 0 || iso == total)
				continue;
			for (size_t i = 0; i < c->pods.n; i++) {
				const struct nw_pod *pod = c->pods.v[i];
				struct nw_buf b = { 0 };

				if (pod->ns != ns || pod->host_network || first_isolating(c, pod, (enum nw_dir)d))
					continue;
				nw_policy_format_name(example, &b);
				/* Partial egress isolation is often deliberate: a note, not a warning. */
				add(l, NW_LINT_UNISOLATED_POD, d == NW_INGRESS ? NW_SEV_WARNING : NW_SEV_NOTE,
				    pod->workload ? &pod->workload->loc : &pod->loc,
				    "%s %s/%s is not isolated for %s, while %zu of the %zu pods of %s are (e.g. by %s): %s",
				    pod->workload ? nw_wl_kind_name(pod->workload->kind) : "pod", ns->name,
				    pod->workload ? pod->workload->name : pod->name, dir_name((enum nw_dir)d), iso, total, ns->name,
				    b.s, d == NW_INGRESS ? "anything can connect to it" : "it can connect anywhere");
				nw_buf_free(&b);
			}
		}
	}
}

static bool is_dns_pod(const struct nw_pod *p)
{
	for (uint32_t i = 0; i < p->labels->n; i++)
		if (strcmp(p->labels->kv[2 * i], "k8s-app") == 0 && strcmp(p->labels->kv[2 * i + 1], "kube-dns") == 0)
			return true;
	return false;
}

/* Does some egress rule of the pod's policies allow DNS over proto? */
static bool dns_allowed(const struct nw_eval *ev, const struct nw_cluster *c, const struct nw_pod *pod, int proto)
{
	bool any_dns = false;

	for (size_t i = 0; i < c->pods.n; i++) {
		const struct nw_pod *dns = c->pods.v[i];
		struct nw_endpoint s, d;
		struct nw_verdict v;
		bool ok;

		if (!is_dns_pod(dns))
			continue;
		any_dns = true;
		s = nw_endpoint_pod(pod, 4);
		d = nw_endpoint_pod(dns, 4);
		nw_eval_pair(ev, &s, &d, proto, 53, &v);
		ok = v.egress.allowed;
		nw_verdict_fini(&v);
		if (ok)
			return true;
	}
	if (any_dns)
		return false;
	/* No DNS pods in the input: any egress rule opening port 53 counts. */
	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *p = c->policies.v[i];

		if (!p->egress || !nw_policy_selects(p, pod))
			continue;
		for (uint32_t r = 0; r < p->n_eg; r++)
			if (nw_rule_port_match(&p->eg_rules[r], proto, 53, NULL) != -2)
				return true;
	}
	return false;
}

/* NP005, grouped by the first policy isolating each pod's egress. */
static void egress_dns(struct nw_lint *l, const struct nw_cluster *c)
{
	struct nw_eval ev;

	nw_eval_init(&ev, c);
	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *p = c->policies.v[i];
		size_t no_udp = 0, no_tcp = 0;
		struct nw_buf udp = { 0 }, tcp = { 0 };

		if (!p->egress)
			continue;
		for (size_t k = 0; k < c->pods.n; k++) {
			const struct nw_pod *pod = c->pods.v[k];

			if (first_isolating(c, pod, NW_EGRESS) != p)
				continue;
			if (!dns_allowed(&ev, c, pod, NW_PROTO_UDP)) {
				if (no_udp++ < 4)
					nw_buf_printf(&udp, "%s%s/%s", udp.len ? ", " : "", pod->ns->name, pod->name);
			} else if (!dns_allowed(&ev, c, pod, NW_PROTO_TCP)) {
				if (no_tcp++ < 4)
					nw_buf_printf(&tcp, "%s%s/%s", tcp.len ? ", " : "", pod->ns->name, pod->name);
			}
		}
		if (no_udp) {
			add(l, NW_LINT_EGRESS_WITHOUT_DNS, NW_SEV_WARNING, &p->loc,
			    "isolates the egress of %zu pod%s (%s%s) and no egress rule allows them DNS (53/UDP): name "
			    "lookups will fail",
			    no_udp, no_udp == 1 ? "" : "s", udp.s, no_udp > 4 ? ", ..." : "");
			set_object(l, p);
		}
		if (no_tcp) {
			add(l, NW_LINT_EGRESS_WITHOUT_DNS, NW_SEV_NOTE, &p->loc,
			    "isolates the egress of %zu pod%s (%s%s) with DNS allowed over UDP only: answers too large for "
			    "UDP need 53/TCP",
			    no_tcp, no_tcp == 1 ? "" : "s", tcp.s, no_tcp > 4 ? ", ..." : "");
			set_object(l, p);
		}
		nw_buf_free(&udp);
		nw_buf_free(&tcp);
	}
	nw_eval_fini(&ev);
}

/* NP006 */
static void ipblock_pods(struct nw_lint *l, const struct nw_cluster *c)
{
	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *p = c->policies.v[i];

		if (!user_policy(p))
			continue;
		for (int d = 0; d < 2; d++) {
			uint32_t n;
			const struct nw_rule *rules = nw_policy_rules(p, (enum nw_dir)d, &n);

			for (uint32_t r = 0; r < n; r++) {
				for (uint32_t k = 0; k < rules[r].n_peers; k++) {
					const struct nw_ipblock *b = rules[r].peers[k].ipblock;
					struct nw_buf list = { 0 };
					size_t hits = 0;

					if (b == NULL)
						continue;
					for (size_t x = 0; x < c->pods.n; x++) {
						const struct nw_pod *pod = c->pods.v[x];
						for (uint8_t y = 0; !pod->host_network && y < pod->n_ips; y++) {
							char ip[NW_ADDR_STRLEN];
							if (!nw_ipblock_contains(b, &pod->ips[y]))
								continue;
							nw_addr_format(&pod->ips[y], ip);
							if (hits++ < 3)
								nw_buf_printf(&list, "%s%s/%s %s", list.len ? ", " : "", pod->ns->name,
									      pod->name, ip);
							break;
						}
					}
					if (hits) {
						add(l, NW_LINT_IPBLOCK_COVERS_PODS, NW_SEV_WARNING, &rules[r].peers[k].loc,
						    "%s[%u].%s[%u]: ipBlock %s covers the addresses of %zu pod%s (%s%s): whether it "
						    "matches pod traffic differs between CNIs (netward: it does; Cilium: it does not)",
						    dir_name((enum nw_dir)d), r, peer_key((enum nw_dir)d), k, b->text, hits,
						    hits == 1 ? "" : "s", list.s, hits > 3 ? ", ..." : "");
						set_object(l, p);
					}
					nw_buf_free(&list);
				}
			}
		}
	}
}

/* NP007: containment, sound (never a false "redundant"), not complete. */

static bool values_subset(const struct nw_sel_req *a, const struct nw_sel_req *b)
{
	for (uint32_t i = 0; i < a->n_values; i++) {
		bool found = false;
		for (uint32_t k = 0; k < b->n_values && !found; k++)
			found = strcmp(a->values[i], b->values[k]) == 0;
		if (!found)
			return false;
	}
	return true;
}

static bool values_disjoint(const struct nw_sel_req *a, const struct nw_sel_req *b)
{
	for (uint32_t i = 0; i < a->n_values; i++)
		for (uint32_t k = 0; k < b->n_values; k++)
			if (strcmp(a->values[i], b->values[k]) == 0)
				return false;
	return true;
}

/* Every label set a matches, b matches too. */
static bool sel_implies(const struct nw_selector *a, const struct nw_selector *b)
{
	for (uint32_t j = 0; j < b->n; j++) {
		const struct nw_sel_req *rb = &b->reqs[j];
		bool ok = false;

		for (uint32_t i = 0; i < a->n && !ok; i++) {
			const struct nw_sel_req *ra = &a->reqs[i];

			if (strcmp(ra->key, rb->key) != 0)
				continue;
			switch ((enum nw_sel_op)rb->op) {
			case NW_SEL_IN:
				ok = ra->op == NW_SEL_IN && values_subset(ra, rb);
				break;
			case NW_SEL_NOT_IN:
				ok = (ra->op == NW_SEL_IN && values_disjoint(ra, rb)) ||
				     (ra->op == NW_SEL_NOT_IN && values_subset(rb, ra)) || ra->op == NW_SEL_DOES_NOT_EXIST;
				break;
			case NW_SEL_EXISTS:
				ok = (ra->op == NW_SEL_IN && ra->n_values > 0) || ra->op == NW_SEL_EXISTS;
				break;
			case NW_SEL_DOES_NOT_EXIST:
				ok = ra->op == NW_SEL_DOES_NOT_EXIST;
				break;
			}
		}
		if (!ok)
			return false;
	}
	return true;
}

static bool ranges_within(const struct nw_rangeset *a, const struct nw_rangeset *b)
{
	if (a->family != b->family)
		return false;
	for (size_t i = 0; i < a->r.n; i++) {
		bool in = false;
		for (size_t k = 0; k < b->r.n && !in; k++)
			in = b->r.v[k].lo <= a->r.v[i].lo && a->r.v[i].hi <= b->r.v[k].hi;
		if (!in)
			return false;
	}
	return true;
}

static bool peer_within(const struct nw_policy *pa, const struct nw_peer *a, const struct nw_policy *pb,
			const struct nw_peer *b)
{
	if (b->ipblock != NULL)
		return a->ipblock != NULL && ranges_within(&a->ipblock->ranges, &b->ipblock->ranges);
	if (a->ipblock != NULL)
		return false;
	/* Namespaces. */
	if (b->ns_sel != NULL) {
		if (a->ns_sel == NULL ? !nw_selector_matches(b->ns_sel, pa->ns->labels) : !sel_implies(a->ns_sel, b->ns_sel))
			return false;
	} else if (a->ns_sel != NULL || pa->ns != pb->ns) {
		return false;
	}
	/* Pods. */
	if (b->pod_sel == NULL || b->pod_sel->n == 0)
		return true;
	return a->pod_sel != NULL && sel_implies(a->pod_sel, b->pod_sel);
}

static bool port_within(const struct nw_np_port *a, const struct nw_np_port *b)
{
	if (a->proto != b->proto)
		return false;
	if (!b->has_port)
		return true;
	if (!a->has_port)
		return false;
	if (a->name != NULL || b->name != NULL)
		return a->name != NULL && b->name != NULL && strcmp(a->name, b->name) == 0;
	return b->port <= a->port && a->end_port <= b->end_port;
}

static bool rule_within(const struct nw_policy *pa, const struct nw_rule *a, const struct nw_policy *pb,
			const struct nw_rule *b)
{
	if (b->n_peers > 0) {
		if (a->n_peers == 0)
			return false;
		for (uint32_t i = 0; i < a->n_peers; i++) {
			bool in = false;
			for (uint32_t k = 0; k < b->n_peers && !in; k++)
				in = peer_within(pa, &a->peers[i], pb, &b->peers[k]);
			if (!in)
				return false;
		}
	}
	if (b->n_ports > 0) {
		if (a->n_ports == 0)
			return false;
		for (uint32_t i = 0; i < a->n_ports; i++) {
			bool in = false;
			for (uint32_t k = 0; k < b->n_ports && !in; k++)
				in = port_within(&a->ports[i], &b->ports[k]);
			if (!in)
				return false;
		}
	}
	return true;
}

/* Policy b's rules apply to every pod a's do (same namespace, a's selector implies b's). */
static bool applies_within(const struct nw_policy *a, const struct nw_policy *b, enum nw_dir d)
{
	if (!(d == NW_INGRESS ? b->ingress : b->egress))
		return false;
	return a == b || (a->ns == b->ns && sel_implies(a->pod_sel, b->pod_sel));
}

static void redundant(struct nw_lint *l, const struct nw_cluster *c)
{
	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *pa = c->policies.v[i];

		if (!user_policy(pa))
			continue;
		for (int d = 0; d < 2; d++) {
			uint32_t na;
			const struct nw_rule *ra = nw_policy_rules(pa, (enum nw_dir)d, &na);

			if (!(d == NW_INGRESS ? pa->ingress : pa->egress))
				continue;
			for (uint32_t x = 0; x < na; x++) {
				bool found = false;

				for (size_t k = 0; k < c->policies.n && !found; k++) {
					const struct nw_policy *pb = c->policies.v[k];
					uint32_t nb;
					const struct nw_rule *rb = nw_policy_rules(pb, (enum nw_dir)d, &nb);

					if (!user_policy(pb) || !applies_within(pa, pb, (enum nw_dir)d))
						continue;
					for (uint32_t y = 0; y < nb && !found; y++) {
						bool later;

						if (pb == pa && y == x)
							continue;
						if (!rule_within(pa, &ra[x], pb, &rb[y]))
							continue;
						/* Two equivalent rules: the later one is the redundant one. */
						later = k < i || (k == i && y < x);
						if (!later && applies_within(pb, pa, (enum nw_dir)d) && rule_within(pb, &rb[y], pa, &ra[x]))
							continue;
						found = true;
						if (pb == pa) {
							add(l, NW_LINT_REDUNDANT_RULE, NW_SEV_WARNING, &ra[x].loc,
							    "%s[%u] allows nothing that %s[%u] of the same policy does not already allow",
							    dir_name((enum nw_dir)d), x, dir_name((enum nw_dir)d), y);
						} else {
							struct nw_buf b = { 0 }, at = { 0 };
							nw_policy_format_name(pb, &b);
							nw_loc_format(&rb[y].loc, &at);
							add(l, NW_LINT_REDUNDANT_RULE, NW_SEV_WARNING, &ra[x].loc,
							    "%s[%u] allows nothing that %s[%u] of %s (%s) does not already allow to the "
							    "same pods",
							    dir_name((enum nw_dir)d), x, dir_name((enum nw_dir)d), y, b.s, at.s);
							nw_buf_free(&b);
							nw_buf_free(&at);
						}
						set_object(l, pa);
					}
				}
			}
		}
	}
}

/* NP008 (the model's half: the decoder rejects the invalid forms), NP009, NP010, NP011. */
static void policy_shape(struct nw_lint *l, const struct nw_cluster *c)
{
	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *p = c->policies.v[i];

		if (!user_policy(p))
			continue;
		if (!p->egress && p->n_eg > 0) {
			add(l, NW_LINT_EGRESS_RULES_IGNORED, NW_SEV_WARNING, &p->eg_rules[0].loc,
			    "%u egress rule%s ignored: policyTypes does not include Egress", p->n_eg, p->n_eg == 1 ? " is" : "s are");
			set_object(l, p);
		}
		if (p->types_defaulted && p->n_in == 0 && p->n_eg > 0) {
			add(l, NW_LINT_EGRESS_ONLY_ISOLATES_INGRESS, NW_SEV_WARNING, &p->loc,
			    "only egress rules and no policyTypes: the API server sets policyTypes [Ingress, Egress], so this "
			    "policy also denies every connection to the pods it selects");
			set_object(l, p);
		}
		for (int d = 0; d < 2; d++) {
			uint32_t n;
			const struct nw_rule *rules = nw_policy_rules(p, (enum nw_dir)d, &n);

			for (uint32_t r = 0; r < n; r++) {
				int ns_only = -1, pod_only = -1;

				for (uint32_t k = 0; k < rules[r].n_ports; k++) {
					const struct nw_np_port *pe = &rules[r].ports[k];
					if (pe->has_port && pe->name == NULL && pe->port <= 1 && pe->end_port == 65535) {
						add(l, NW_LINT_ENDPORT_MISUSE, NW_SEV_WARNING, &pe->loc,
						    "%s[%u].ports[%u]: port %u with endPort 65535 is every port: leave port and "
						    "endPort out (protocol %s alone)",
						    dir_name((enum nw_dir)d), r, k, pe->port, nw_proto_name(pe->proto));
						set_object(l, p);
					}
				}
				for (uint32_t k = 0; k < rules[r].n_peers; k++) {
					const struct nw_peer *pr = &rules[r].peers[k];
					if (pr->ns_sel && !pr->pod_sel && ns_only < 0)
						ns_only = (int)k;
					if (pr->pod_sel && !pr->ns_sel && pod_only < 0)
						pod_only = (int)k;
				}
				if (ns_only >= 0 && pod_only >= 0) {
					add(l, NW_LINT_PEERS_OR_NOT_AND, NW_SEV_NOTE, &rules[r].peers[NW_MIN(ns_only, pod_only)].loc,
					    "%s[%u]: %s[%d] (namespaceSelector alone) and %s[%d] (podSelector alone) are two peers, "
					    "ORed: every pod of those namespaces, or those pods of %s. For those pods in those "
					    "namespaces, write one peer with both selectors",
					    dir_name((enum nw_dir)d), r, peer_key((enum nw_dir)d), ns_only, peer_key((enum nw_dir)d),
					    pod_only, p->ns->name);
					set_object(l, p);
				}
			}
		}
	}
}

void nw_lint_run(struct nw_lint *l, const struct nw_cluster *c)
{
	l->no_pods = c->pods.n == 0;
	policy_shape(l, c);
	redundant(l, c);
	if (l->no_pods)
		return;
	policy_selects_nothing(l, c);
	peer_selects_nothing(l, c);
	named_ports(l, c);
	unisolated(l, c);
	egress_dns(l, c);
	ipblock_pods(l, c);
}

void nw_lint_add_diags(struct nw_lint *l, const struct nw_diags *d)
{
	for (size_t i = 0; i < d->list.n; i++) {
		const struct nw_diag *g = &d->list.v[i];
		int rule = NW_LINT_INVALID;

		if (g->sev == NW_SEV_ERROR && strstr(g->msg, "endPort") != NULL)
			rule = NW_LINT_ENDPORT_MISUSE;
		/* The model has its own, with more to say. */
		if (strstr(g->msg, "egress rules are ignored") != NULL)
			continue;
		add(l, rule, g->sev, &g->loc, "%s", g->msg);
	}
}

static int finding_cmp(const void *a, const void *b)
{
	const struct nw_finding *x = a, *y = b;
	int r = strcmp(x->file ? x->file : "", y->file ? y->file : "");

	if (r)
		return r;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	if (x->rule != y->rule)
		return x->rule - y->rule;
	return strcmp(x->msg, y->msg);
}

void nw_lint_sort(struct nw_lint *l)
{
	nw_sort(l->findings.v, l->findings.n, sizeof(*l->findings.v), finding_cmp);
}

void nw_lint_free(struct nw_lint *l)
{
	for (size_t i = 0; i < l->findings.n; i++) {
		free(l->findings.v[i].file);
		free(l->findings.v[i].object);
		free(l->findings.v[i].msg);
	}
	nw_vec_free(&l->findings);
}

size_t nw_lint_count(const struct nw_lint *l, enum nw_sev at_least)
{
	size_t n = 0;

	for (size_t i = 0; i < l->findings.n; i++)
		n += l->findings.v[i].sev <= at_least;
	return n;
}

/* Writers */

static const char *sev_word(enum nw_sev s)
{
	return s == NW_SEV_ERROR ? "error" : s == NW_SEV_WARNING ? "warning" : "note";
}

static void text(const struct nw_lint *l, struct nw_buf *out)
{
	size_t e = nw_lint_count(l, NW_SEV_ERROR), w = nw_lint_count(l, NW_SEV_WARNING) - e;

	for (size_t i = 0; i < l->findings.n; i++) {
		const struct nw_finding *f = &l->findings.v[i];
		const struct nw_lint_rule *r = &nw_lint_rules[f->rule];

		if (f->file)
			nw_buf_printf(out, "%s:%u:%u: ", f->file, f->line, f->col);
		nw_buf_printf(out, "%s: %s %s: ", sev_word(f->sev), r->id, r->name);
		if (f->object)
			nw_buf_printf(out, "%s: ", f->object);
		nw_buf_printf(out, "%s\n", f->msg);
	}
	if (l->no_pods)
		nw_buf_puts(out, "note: the input has no pods or workloads: the checks of selectors, named ports, "
				 "isolation and DNS did not run (lint the policies together with the workloads)\n");
	nw_buf_printf(out, "%zu finding%s: %zu error%s, %zu warning%s, %zu note%s\n", l->findings.n,
		      l->findings.n == 1 ? "" : "s", e, e == 1 ? "" : "s", w, w == 1 ? "" : "s", l->findings.n - e - w,
		      l->findings.n - e - w == 1 ? "" : "s");
}

static void json(const struct nw_lint *l, struct nw_buf *out)
{
	struct nw_json j;

	nw_json_init(&j, out, 2);
	nw_json_obj(&j);
	nw_json_kstr(&j, "kind", "LintReport");
	nw_json_key(&j, "summary");
	nw_json_obj(&j);
	nw_json_kint(&j, "errors", (long long)nw_lint_count(l, NW_SEV_ERROR));
	nw_json_kint(&j, "warnings", (long long)(nw_lint_count(l, NW_SEV_WARNING) - nw_lint_count(l, NW_SEV_ERROR)));
	nw_json_kint(&j, "notes", (long long)(l->findings.n - nw_lint_count(l, NW_SEV_WARNING)));
	nw_json_kbool(&j, "podChecksRan", !l->no_pods);
	nw_json_obj_end(&j);
	nw_json_key(&j, "findings");
	nw_json_arr(&j);
	for (size_t i = 0; i < l->findings.n; i++) {
		const struct nw_finding *f = &l->findings.v[i];

		nw_json_obj(&j);
		nw_json_kstr(&j, "id", nw_lint_rules[f->rule].id);
		nw_json_kstr(&j, "name", nw_lint_rules[f->rule].name);
		nw_json_kstr(&j, "severity", sev_word(f->sev));
		nw_json_kstr(&j, "file", f->file);
		nw_json_kint(&j, "line", f->line);
		nw_json_kint(&j, "column", f->col);
		nw_json_kstr(&j, "object", f->object);
		nw_json_kstr(&j, "message", f->msg);
		nw_json_obj_end(&j);
	}
	nw_json_arr_end(&j);
	nw_json_obj_end(&j);
	nw_buf_putc(out, '\n');
}

static void sarif(const struct nw_lint *l, const char *version, struct nw_buf *out)
{
	struct nw_json j;

	nw_json_init(&j, out, 4);
	nw_json_obj(&j);
	nw_json_kstr(&j, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
	nw_json_kstr(&j, "version", "2.1.0");
	nw_json_key(&j, "runs");
	nw_json_arr(&j);
	nw_json_obj(&j);
	nw_json_key(&j, "tool");
	nw_json_obj(&j);
	nw_json_key(&j, "driver");
	nw_json_obj(&j);
	nw_json_kstr(&j, "name", "netward lint");
	nw_json_kstr(&j, "version", version);
	nw_json_key(&j, "rules");
	nw_json_arr(&j);
	for (int i = 0; i < NW_LINT__COUNT; i++) {
		const struct nw_lint_rule *r = &nw_lint_rules[i];

		nw_json_obj(&j);
		nw_json_kstr(&j, "id", r->id);
		nw_json_kstr(&j, "name", r->name);
		nw_json_key(&j, "shortDescription");
		nw_json_obj(&j);
		nw_json_kstr(&j, "text", r->summary);
		nw_json_obj_end(&j);
		nw_json_key(&j, "help");
		nw_json_obj(&j);
		nw_json_kstr(&j, "text", r->help);
		nw_json_obj_end(&j);
		nw_json_key(&j, "defaultConfiguration");
		nw_json_obj(&j);
		nw_json_kstr(&j, "level", sev_word(r->sev));
		nw_json_obj_end(&j);
		nw_json_obj_end(&j);
	}
	nw_json_arr_end(&j);
	nw_json_obj_end(&j);
	nw_json_obj_end(&j);
	nw_json_key(&j, "results");
	nw_json_arr(&j);
	for (size_t i = 0; i < l->findings.n; i++) {
		const struct nw_finding *f = &l->findings.v[i];
		struct nw_buf m = { 0 };

		nw_json_obj(&j);
		nw_json_kstr(&j, "ruleId", nw_lint_rules[f->rule].id);
		nw_json_kint(&j, "ruleIndex", f->rule);
		nw_json_kstr(&j, "level", sev_word(f->sev));
		nw_json_key(&j, "message");
		nw_json_obj(&j);
		if (f->object)
			nw_buf_printf(&m, "%s: ", f->object);
		nw_buf_puts(&m, f->msg);
		nw_json_kstr(&j, "text", m.s);
		nw_json_obj_end(&j);
		if (f->file) {
			nw_json_key(&j, "locations");
			nw_json_arr(&j);
			nw_json_obj(&j);
			nw_json_key(&j, "physicalLocation");
			nw_json_obj(&j);
			nw_json_key(&j, "artifactLocation");
			nw_json_obj(&j);
			nw_json_kstr(&j, "uri", f->file[0] == '.' && f->file[1] == '/' ? f->file + 2 : f->file);
			nw_json_obj_end(&j);
			if (f->line) {
				nw_json_key(&j, "region");
				nw_json_obj(&j);
				nw_json_kint(&j, "startLine", f->line);
				if (f->col)
					nw_json_kint(&j, "startColumn", f->col);
				nw_json_obj_end(&j);
			}
			nw_json_obj_end(&j);
			nw_json_obj_end(&j);
			nw_json_arr_end(&j);
		}
		nw_json_obj_end(&j);
		nw_buf_free(&m);
	}
	nw_json_arr_end(&j);
	nw_json_obj_end(&j);
	nw_json_arr_end(&j);
	nw_json_obj_end(&j);
	nw_buf_putc(out, '\n');
}

static void gh_escape(struct nw_buf *out, const char *s, bool property)
{
	for (; s && *s; s++) {
		if (*s == '%')
			nw_buf_puts(out, "%25");
		else if (*s == '\r')
			nw_buf_puts(out, "%0D");
		else if (*s == '\n')
			nw_buf_puts(out, "%0A");
		else if (property && *s == ':')
			nw_buf_puts(out, "%3A");
		else if (property && *s == ',')
			nw_buf_puts(out, "%2C");
		else
			nw_buf_putc(out, *s);
	}
}

static void github(const struct nw_lint *l, struct nw_buf *out)
{
	for (size_t i = 0; i < l->findings.n; i++) {
		const struct nw_finding *f = &l->findings.v[i];
		const struct nw_lint_rule *r = &nw_lint_rules[f->rule];
		struct nw_buf t = { 0 }, m = { 0 };

		nw_buf_printf(out, "::%s", f->sev == NW_SEV_ERROR ? "error" : f->sev == NW_SEV_WARNING ? "warning" : "notice");
		if (f->file) {
			nw_buf_puts(out, " file=");
			gh_escape(out, f->file[0] == '.' && f->file[1] == '/' ? f->file + 2 : f->file, true);
			nw_buf_printf(out, ",line=%u,col=%u,", f->line, f->col);
		} else {
			nw_buf_putc(out, ' ');
		}
		nw_buf_printf(&t, "%s %s", r->id, r->name);
		nw_buf_puts(out, "title=");
		gh_escape(out, t.s, true);
		if (f->object)
			nw_buf_printf(&m, "%s: ", f->object);
		nw_buf_printf(&m, "%s\n%s", f->msg, r->help);
		nw_buf_puts(out, "::");
		gh_escape(out, m.s, false);
		nw_buf_putc(out, '\n');
		nw_buf_free(&t);
		nw_buf_free(&m);
	}
	text(l, out);
}

void nw_lint_format(const struct nw_lint *l, const char *format, const char *tool_version, struct nw_buf *out)
{
	if (strcmp(format, "json") == 0)
		json(l, out);
	else if (strcmp(format, "sarif") == 0)
		sarif(l, tool_version, out);
	else if (strcmp(format, "github") == 0)
		github(l, out);
	else
		text(l, out);
}
