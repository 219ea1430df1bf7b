/* SPDX-License-Identifier: Apache-2.0 */
/* netward agent: the DaemonSet process that keeps a node's table in step. */
#include "cli.h"

#include <netward/agent.h>
#include <netward/plan.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"Usage: netward agent [options]\n"
	"\n"
	"Runs on every node (a DaemonSet; see docs/operations.md). Watches Pods, Namespaces,\n"
	"Services, NetworkPolicies and Otterize ClientIntents (list, then watch) and keeps this\n"
	"node's nftables table (table inet netward) in step: changes are coalesced for at most\n"
	"10 ms, then only the difference is committed, in one transaction. At start it adopts\n"
	"the table already in the kernel or replaces it in one batch, so a restart leaves no\n"
	"window without rules; SIGTERM leaves the rules in place (fail static). Denied packets\n"
	"are printed as JSON lines on stdout; the log goes to stderr. Needs root (CAP_NET_ADMIN).\n"
	"\n"
	"Options (each also read from the environment variable shown):\n"
	"      --node NODE         this node's name (NODE_NAME); its pods have spec.nodeName NODE\n"
	"      --source SOURCE     kube (default): the Kubernetes API; or a directory of manifests,\n"
	"                          watched with inotify (NETWARD_SOURCE)\n"
	"      --kubeconfig PATH   API access outside a cluster (KUBECONFIG); default: the in-cluster\n"
	"                          service account when KUBERNETES_SERVICE_HOST is set, else\n"
	"                          ~/.kube/config\n"
	"      --context NAME      kubeconfig context (NETWARD_CONTEXT; default: current-context)\n"
	"      --default-deny MODE off (default), namespace (namespaces labelled\n"
	"                          netward.io/default-deny=true) or cluster (every namespace but\n"
	"                          kube-system); DNS to kube-dns stays allowed (NETWARD_DEFAULT_DENY)\n"
	"      --uplink IFNAME     an interface to the other nodes, repeatable, or auto (default):\n"
	"                          those with a default route, a route through a gateway or a\n"
	"                          subnet address. Pod-CIDR traffic from pods not programmed yet is\n"
	"                          dropped on every other interface (NETWARD_UPLINKS, comma-separated;\n"
	"                          none: the check is off)\n"
	"      --pod-cidr CIDR     pod address range, repeatable (NETWARD_POD_CIDRS, comma-separated;\n"
	"                          default: the /16 or /64 around every pod address)\n"
	"      --audit             log what would be denied, drop nothing (NETWARD_AUDIT=true)\n"
	"      --log-group N       NFLOG group of denied packets (NETWARD_LOG_GROUP; default 100)\n"
	"      --log-rate N        logged denied packets per second, per pod and direction\n"
	"                          (NETWARD_LOG_RATE; default 10)\n"
	"      --listen ADDR       /healthz, /readyz and /metrics on HOST:PORT or :PORT, or off\n"
	"                          (NETWARD_LISTEN; default :9490)\n"
	"      --no-deny-log       do not print denied packets on stdout (NETWARD_DENY_LOG=false)\n"
	"      --keep-connections  do not cut established connections new rules deny\n"
	"      --no-intents        ignore Otterize ClientIntents and ProtectedService objects\n"
	"                          (NETWARD_INTENTS=false); by default they are compiled into\n"
	"                          policies when their CRDs are installed (see docs/intents.md)\n"
	"      --intents-egress    intents restrict their clients' egress too, DNS allowed\n"
	"                          (NETWARD_INTENTS_EGRESS=true)\n"
	"      --log-syncs         log the timings of every sync (for benchmarks)\n"
	"      --check-interval S  how often the kernel's table is compared with the plan and put\n"
	"                          back if someone changed it (default 30)\n"
	"      --api-page-size N   objects per list page (default 500)\n"
	"  -h, --help              show this help\n"
	"\n"
	"In a pod, the API is reached with the service account (KUBERNETES_SERVICE_HOST and\n"
	"_PORT, the token and CA under /var/run/secrets/kubernetes.io/serviceaccount, or\n"
	"NETWARD_SERVICEACCOUNT_DIR).\n"
	"\n"
	"Exit status: 0 stopped by SIGTERM or SIGINT, 2 usage error, 3 environment error (no\n"
	"root, no nftables, no API access).\n";

enum {
	OPT_NODE = OPT__NEXT,
	OPT_SOURCE,
	OPT_KUBECONFIG,
	OPT_CONTEXT,
	OPT_UPLINK,
	OPT_POD_CIDR,
	OPT_AUDIT,
	OPT_LOG_GROUP,
	OPT_LOG_RATE,
	OPT_LISTEN,
	OPT_NO_DENY_LOG,
	OPT_KEEP,
	OPT_LOG_SYNCS,
	OPT_CHECK,
	OPT_PAGE_SIZE,
	OPT_NO_INTENTS,
	OPT_INTENTS_EGRESS,
};

struct agent_args {
	struct nw_agent_opts o;
	const char *source, *kubeconfig, *context;
	NW_VEC(const char *) uplinks;
	NW_VEC(struct nw_cidr) cidrs;
	NW_VEC(char *) owned; /* strings split from environment lists */
};

static int add_uplink(struct agent_args *a, const char *name)
{
	if (strcmp(name, "auto") == 0) {
		a->o.uplinks_auto = true;
		return 0;
	}
	if (strcmp(name, "none") == 0) {
		a->o.uplinks_auto = false;
		a->uplinks.n = 0;
		return 0;
	}
	if (name[0] == '\0' || strlen(name) >= NW_IFNAMSIZ)
		return cli_usage_error("agent", "--uplink: \"%s\" is not an interface name", name);
	if (a->uplinks.n == 0)
		a->o.uplinks_auto = false; /* explicit interfaces replace auto */
	nw_vec_push(&a->uplinks, name);
	return 0;
}

static int add_cidr(struct agent_args *a, const char *s)
{
	struct nw_cidr c;

	if (!nw_cidr_parse(s, &c))
		return cli_usage_error("agent", "--pod-cidr: \"%s\" is not a CIDR", s);
	nw_vec_push(&a->cidrs, c);
	return 0;
}

/* A comma-separated environment list, each item through fn. */
static int env_list(struct agent_args *a, const char *var, int (*fn)(struct agent_args *, const char *))
{
	const char *v = getenv(var);
	char *copy, *save = NULL;
	int ret = 0;

	if (v == NULL || v[0] == '\0')
		return 0;
	copy = nw_xstrdup(v);
	nw_vec_push(&a->owned, copy);
	for (char *tok = strtok_r(copy, ",", &save); tok != NULL && ret == 0; tok = strtok_r(NULL, ",", &save))
		ret = fn(a, tok);
	return ret;
}

static bool env_true(const char *var, bool dflt)
{
	const char *v = getenv(var);

	if (v == NULL || v[0] == '\0')
		return dflt;
	return strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0;
}

static int parse_uint_opt(const char *name, const char *arg, uint64_t max, uint64_t *out)
{
	if (!nw_parse_uint(arg, max, out))
		return cli_usage_error("agent", "%s: \"%s\" is not a number from 0 to %llu", name, arg,
				       (unsigned long long)max);
	return 0;
}

/* Defaults, then the environment; flags come after and override both. */
static int from_env(struct agent_args *a)
{
	const char *v;
	uint64_t n;
	int ret;

	a->o.node = getenv("NODE_NAME");
	a->source = getenv("NETWARD_SOURCE");
	a->kubeconfig = NULL; /* KUBECONFIG is read by the kubeconfig loader itself */
	a->context = getenv("NETWARD_CONTEXT");
	a->o.uplinks_auto = true;
	a->o.log_group = 100;
	a->o.log_rate = 10;
	a->o.listen = ":9490";
	a->o.coalesce_ms = 10;
	a->o.check_s = 30;
	a->o.stall_s = 10;
	a->o.deny_json = env_true("NETWARD_DENY_LOG", true);
	a->o.audit = env_true("NETWARD_AUDIT", false);
	a->o.intents = env_true("NETWARD_INTENTS", true);
	a->o.intents_egress = env_true("NETWARD_INTENTS_EGRESS", false);
	a->o.log = stderr;
	if ((v = getenv("NETWARD_DEFAULT_DENY")) != NULL && v[0] != '\0') {
		int dd = nw_default_deny_parse(v);
		if (dd < 0)
			return cli_usage_error("agent", "NETWARD_DEFAULT_DENY: \"%s\" is not off, namespace or cluster", v);
		a->o.default_deny = dd;
	}
	if ((v = getenv("NETWARD_LOG_GROUP")) != NULL && v[0] != '\0') {
		if ((ret = parse_uint_opt("NETWARD_LOG_GROUP", v, 65535, &n)) != 0)
			return ret;
		a->o.log_group = (uint16_t)n;
	}
	if ((v = getenv("NETWARD_LOG_RATE")) != NULL && v[0] != '\0') {
		if ((ret = parse_uint_opt("NETWARD_LOG_RATE", v, 1000000, &n)) != 0)
			return ret;
		a->o.log_rate = (uint32_t)n;
	}
	if ((v = getenv("NETWARD_LISTEN")) != NULL && v[0] != '\0')
		a->o.listen = v;
	if ((ret = env_list(a, "NETWARD_UPLINKS", add_uplink)) != 0)
		return ret;
	return env_list(a, "NETWARD_POD_CIDRS", add_cidr);
}

static int parse(struct agent_args *a, int argc, char **argv)
{
	static const struct option opts[] = { { "node", required_argument, NULL, OPT_NODE },
					      { "source", required_argument, NULL, OPT_SOURCE },
					      { "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
					      { "context", required_argument, NULL, OPT_CONTEXT },
					      { "default-deny", required_argument, NULL, OPT_DEFAULT_DENY },
					      { "uplink", required_argument, NULL, OPT_UPLINK },
					      { "pod-cidr", required_argument, NULL, OPT_POD_CIDR },
					      { "audit", no_argument, NULL, OPT_AUDIT },
					      { "log-group", required_argument, NULL, OPT_LOG_GROUP },
					      { "log-rate", required_argument, NULL, OPT_LOG_RATE },
					      { "listen", required_argument, NULL, OPT_LISTEN },
					      { "no-deny-log", no_argument, NULL, OPT_NO_DENY_LOG },
					      { "keep-connections", no_argument, NULL, OPT_KEEP },
					      { "log-syncs", no_argument, NULL, OPT_LOG_SYNCS },
					      { "check-interval", required_argument, NULL, OPT_CHECK },
					      { "api-page-size", required_argument, NULL, OPT_PAGE_SIZE },
					      { "no-intents", no_argument, NULL, OPT_NO_INTENTS },
					      { "intents-egress", no_argument, NULL, OPT_INTENTS_EGRESS },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	bool uplinks_from_flags = false, cidrs_from_flags = false;
	int opt, ret;
	uint64_t n;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			return -1;
		case OPT_NODE:
			a->o.node = optarg;
			break;
		case OPT_SOURCE:
			a->source = optarg;
			break;
		case OPT_KUBECONFIG:
			a->kubeconfig = optarg;
			break;
		case OPT_CONTEXT:
			a->context = optarg;
			break;
		case OPT_DEFAULT_DENY: {
			int dd = nw_default_deny_parse(optarg);
			if (dd < 0)
				return cli_usage_error("agent", "--default-deny: \"%s\" is not off, namespace or cluster",
						       optarg);
			a->o.default_deny = dd;
			break;
		}
		case OPT_UPLINK:
			if (!uplinks_from_flags) {
				a->uplinks.n = 0; /* flags replace the environment's list */
				uplinks_from_flags = true;
			}
			if ((ret = add_uplink(a, optarg)) != 0)
				return ret;
			break;
		case OPT_POD_CIDR:
			if (!cidrs_from_flags) {
				a->cidrs.n = 0;
				cidrs_from_flags = true;
			}
			if ((ret = add_cidr(a, optarg)) != 0)
				return ret;
			break;
		case OPT_AUDIT:
			a->o.audit = true;
			break;
		case OPT_LOG_GROUP:
			if ((ret = parse_uint_opt("--log-group", optarg, 65535, &n)) != 0)
				return ret;
			a->o.log_group = (uint16_t)n;
			break;
		case OPT_LOG_RATE:
			if ((ret = parse_uint_opt("--log-rate", optarg, 1000000, &n)) != 0)
				return ret;
			a->o.log_rate = (uint32_t)n;
			break;
		case OPT_LISTEN:
			a->o.listen = optarg;
			break;
		case OPT_NO_DENY_LOG:
			a->o.deny_json = false;
			break;
		case OPT_KEEP:
			a->o.keep_connections = true;
			break;
		case OPT_LOG_SYNCS:
			a->o.log_syncs = true;
			break;
		case OPT_CHECK:
			if ((ret = parse_uint_opt("--check-interval", optarg, 86400, &n)) != 0)
				return ret;
			if (n == 0)
				return cli_usage_error("agent", "--check-interval: must be at least 1 second");
			a->o.check_s = (unsigned)n;
			break;
		case OPT_NO_INTENTS:
			a->o.intents = false;
			break;
		case OPT_INTENTS_EGRESS:
			a->o.intents_egress = true;
			break;
		case OPT_PAGE_SIZE:
			if ((ret = parse_uint_opt("--api-page-size", optarg, 100000, &n)) != 0)
				return ret;
			if (n == 0)
				return cli_usage_error("agent", "--api-page-size: must be at least 1");
			a->o.kube_opts.page_size = (unsigned)n;
			break;
		default:
			return cli_usage_error("agent", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error("agent", "unexpected argument \"%s\"", argv[optind]);
	if (a->o.node == NULL || a->o.node[0] == '\0')
		return cli_usage_error("agent", "--node NODE is required (or NODE_NAME in the environment)");
	if (a->o.listen != NULL && strcmp(a->o.listen, "off") == 0)
		a->o.listen = NULL;
	return 0;
}

int cmd_agent(int argc, char **argv)
{
	struct agent_args a;
	struct nw_kube_config kc = { 0 };
	struct nw_buf err = { 0 };
	struct stat st;
	int ret;

	memset(&a, 0, sizeof(a));
	ret = from_env(&a);
	if (ret == 0)
		ret = parse(&a, argc, argv);
	if (ret != 0) {
		ret = ret < 0 ? EXIT_OK : ret;
		goto out;
	}
	a.o.uplinks = a.uplinks.v;
	a.o.n_uplinks = a.uplinks.n;
	a.o.pod_cidrs = a.cidrs.v;
	a.o.n_pod_cidrs = a.cidrs.n;
	if (a.source != NULL && strcmp(a.source, "kube") != 0) {
		if (stat(a.source, &st) != 0 || !S_ISDIR(st.st_mode)) {
			ret = cli_usage_error("agent", "--source: \"%s\" is neither kube nor a directory", a.source);
			goto out;
		}
		a.o.source_dir = a.source;
	} else {
		const char *host = getenv("KUBERNETES_SERVICE_HOST");
		int r = a.kubeconfig == NULL && host != NULL && host[0] != '\0'
				? nw_kube_config_in_cluster(&kc, getenv("NETWARD_SERVICEACCOUNT_DIR"), &err)
				: nw_kube_config_load(&kc, a.kubeconfig, a.context, &err);

		if (r < 0) {
			fprintf(stderr, "netward agent: %s\n", nw_buf_str(&err));
			ret = EXIT_ENV;
			goto out;
		}
		a.o.kube = &kc;
	}
	if (geteuid() != 0)
		fprintf(stderr, "netward agent: not root: programming nftables will likely fail\n");
	ret = nw_agent_run(&a.o);
out:
	nw_kube_config_free(&kc);
	nw_buf_free(&err);
	nw_vec_free(&a.uplinks);
	nw_vec_free(&a.cidrs);
	for (size_t i = 0; i < a.owned.n; i++)
		free(a.owned.v[i]);
	nw_vec_free(&a.owned);
	return ret;
}
