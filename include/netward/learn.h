/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The traffic learner (library nwlearn): packets in, least-privilege
 * NetworkPolicies out. Pure: no I/O, no clocks; the capture adapter
 * (learn/capture.c, libpcap) feeds it frames.
 *
 *   decode     link (Ethernet, Linux cooked SLL/SLL2, raw IP), VLAN, IPv4,
 *              IPv6 with extension headers, TCP, UDP, SCTP INIT; DNS answers
 *   track      TCP handshakes (SYN, SYN-ACK, RST), the first packet of each
 *              UDP flow and its reply, SCTP INIT/INIT-ACK
 *   attribute  IP -> pod (honouring when the pod held it) -> root workload;
 *              Service IPs -> every backend; node addresses; DNS names
 *   aggregate  per (client, server, protocol): ports, first/last seen,
 *              connection counts, established or not
 *   write      NetworkPolicies (evidence in comments, weak rules commented
 *              out), ClientIntents, the audit against existing policies
 */
#ifndef NETWARD_LEARN_H
#define NETWARD_LEARN_H

#include <netward/decode.h>
#include <netward/eval.h>
#include <netward/out.h>

/* Link types (the pcap DLT_ numbers). */
enum {
	NWL_DLT_NULL = 0,
	NWL_DLT_EN10MB = 1,
	NWL_DLT_RAW = 101,
	NWL_DLT_LINUX_SLL = 113,
	NWL_DLT_LINUX_SLL2 = 276,
	NWL_DLT_IPV4 = 228,
	NWL_DLT_IPV6 = 229,
};

enum nwl_pkt_kind {
	NWL_PK_OTHER,	   /* decoded, nothing the learner uses (e.g. a TCP data segment) */
	NWL_PK_SYN,	   /* TCP SYN without ACK (ECN bits ignored) */
	NWL_PK_SYNACK,	   /* TCP SYN+ACK */
	NWL_PK_RST,	   /* TCP RST */
	NWL_PK_UDP,
	NWL_PK_SCTP_INIT,
	NWL_PK_SCTP_INIT_ACK,
	NWL_PK_SCTP_ABORT,
};

enum nwl_dec_status {
	NWL_DEC_OK,
	NWL_DEC_TRUNCATED,   /* shorter than its headers say */
	NWL_DEC_MALFORMED,   /* impossible header values */
	NWL_DEC_FRAGMENT,    /* a non-first IP fragment: no ports */
	NWL_DEC_NOT_IP,	     /* ARP, LLDP, ... */
	NWL_DEC_OTHER_PROTO, /* ICMP, ESP, ... */
	NWL_DEC_LINKTYPE,    /* a link type we do not decode */
	NWL_DEC__COUNT,
};
const char *nwl_dec_status_name(int st);

struct nwl_pkt {
	struct nw_addr src, dst;
	uint64_t ts_us;
	uint32_t seq, ack;  /* TCP; SCTP: initiate tag (INIT, INIT-ACK) and verification tag */
	uint32_t ifindex;   /* SLL2; 0 otherwise */
	uint16_t sport, dport;
	uint16_t vlan;	    /* outermost VLAN id, 0 if untagged */
	uint8_t proto;	    /* 6, 17, 132 */
	uint8_t kind;	    /* enum nwl_pkt_kind */
	uint8_t tcp_flags;
	uint8_t pkttype;    /* SLL/SLL2 packet type (4 = outgoing); 255 if unknown */
	const uint8_t *payload; /* L4 payload as captured */
	uint32_t payload_len;
};

/* Decodes one frame; never reads past data + caplen. Returns enum nwl_dec_status. */
int nwl_decode(int linktype, const uint8_t *data, uint32_t caplen, struct nwl_pkt *p);

/* A DNS response: the question name and the A/AAAA answers (CNAMEs followed). */
#define NWL_DNS_MAX_ANSWERS 32
struct nwl_dns {
	char name[256]; /* question name, lower case, no trailing dot */
	uint32_t n;
	struct {
		struct nw_addr addr;
		uint32_t ttl;
	} ans[NWL_DNS_MAX_ANSWERS];
};
/* 0: a NoError response with addresses; 1: a valid message with none; -1: malformed. */
int nwl_dns_parse(const uint8_t *p, size_t len, struct nwl_dns *out);

/*
 * The kernel BPF filter for live capture (pcap syntax): TCP SYN, SYN-ACK and
 * RST (IPv4 and IPv6, ECN bits masked), SCTP INIT/INIT-ACK/ABORT, every UDP
 * packet (the learner keeps the first of each flow) and DNS; the same again
 * inside one VLAN tag, and IPv6 packets with extension headers.
 */
extern const char nwl_bpf_filter[];
/* The same without the VLAN part, for link types where libpcap has none (Linux cooked
 * captures, where the kernel strips VLAN tags anyway). */
extern const char nwl_bpf_filter_novlan[];

/* What one attributed endpoint is. */
enum nwl_ent_kind {
	NWL_ENT_WORKLOAD, /* a root owner workload (Deployment, StatefulSet, CronJob, ...) or bare pod */
	NWL_ENT_NODE,	  /* a node address (or a hostNetwork pod) */
	NWL_ENT_EXTERNAL, /* outside the cluster; named by DNS when an answer was seen */
	NWL_ENT_UNKNOWN,  /* no pod held it at that time, or several did: unattributed */
};

struct nwl_ent {
	uint8_t kind;
	struct nw_namespace *ns;	/* workloads */
	const char *wl_kind;		/* "Deployment", ..., "Pod" */
	const char *name;		/* workload, pod or node name; external: DNS name or NULL */
	const struct nw_workload *wl;	/* when the model has it */
	const struct nw_pod *pod;	/* a member pod (the first seen) */
	const struct nw_labels *selector; /* what a policy selects it by (matchLabels) */
	bool selector_guessed;		/* from pod labels, not the workload's spec.selector */
	struct nw_addr addr;		/* nodes, externals, unknown */
	const char *why;		/* unknown: why it could not be attributed */
	uint32_t idx;
	bool observed;			/* took part in some flow */
};

struct nwl_port_ev {
	uint16_t port;
	uint64_t conns, established, refused, unanswered;
	uint64_t first_us, last_us;
};

/* Everything observed between one client and one server on one protocol. */
struct nwl_edge {
	struct nwl_ent *client, *server;
	uint8_t proto;
	NW_VEC(struct nwl_port_ev) ports; /* sorted by port */
	uint64_t conns, established, refused, unanswered;
	uint64_t first_us, last_us;
	uint32_t client_ips, server_ips; /* distinct addresses on each side */
	const struct nw_service *via;	 /* reached through this Service's ClusterIP */
	uint16_t via_port;
	bool udp_guess;			 /* UDP client/server told apart by ports only */
	bool dns;			 /* DNS to kube-dns (covered by the DNS rule) */
	bool other_node;		 /* a node client reached a pod on another node (not a kubelet probe) */
};

struct nwl_opts {
	uint32_t min_conns;	  /* established connections a rule needs (default 1) */
	uint32_t udp_idle_s;	  /* a UDP flow idle this long starts anew (default 120) */
	uint32_t max_flows;	  /* flow table bound (default 1 << 20); the oldest go first */
	bool isolate_silent;	  /* also deny-all policies for workloads never seen */
	const char *dns_ns, *dns_svc; /* kube-dns Service (default kube-system/kube-dns) */
};

struct nwl_stats {
	uint64_t frames, bytes;
	uint64_t status[NWL_DEC__COUNT];
	uint64_t syn, synack, rst, udp, sctp, dns_answers, dns_malformed;
	uint64_t dup_syn;	/* the same SYN seen again (another interface, a retransmit) */
	uint64_t conns;		/* connection attempts (TCP, SCTP) and UDP flows */
	uint64_t established, refused, unanswered;
	uint64_t flows_evicted; /* flow table full */
	uint64_t first_us, last_us;
	/* Filled by the capture adapter. */
	uint64_t cap_received, cap_kernel_drops, cap_if_drops;
	bool live;
};

struct nwl_learner;

/* The cluster model may be NULL (every address is then external). */
struct nwl_learner *nwl_new(const struct nw_cluster *c, const struct nwl_opts *o);
void nwl_free(struct nwl_learner *l);

/*
 * When a pod held its addresses, in microseconds since the epoch (0: not
 * known, i.e. from the beginning / until the end). Without this a pod is
 * taken to hold its addresses for the whole capture.
 */
void nwl_pod_lifetime(struct nwl_learner *l, const struct nw_pod *p, uint64_t start_us, uint64_t end_us);
/* Reads creationTimestamp/deletionTimestamp of the Pods in the documents. */
void nwl_lifetimes_from_docs(struct nwl_learner *l, const struct nw_docset *ds);
/* A node address: flows from it to pods are kubelet probes, not policy. */
void nwl_add_node(struct nwl_learner *l, const char *name, const struct nw_addr *a);
/* The unknown_kind hook of nw_load_cluster: reads Node objects' addresses (arg: learner). */
bool nwl_node_hook(struct nw_dctx *ctx, const struct nw_node *obj, const char *api_version, const char *kind,
		   void *arg);

/* One frame, as captured. */
void nwl_feed(struct nwl_learner *l, int linktype, uint64_t ts_us, const uint8_t *data, uint32_t caplen);
/* One decoded packet. */
void nwl_packet(struct nwl_learner *l, const struct nwl_pkt *p);

/* Ends the observation: attributes and aggregates. Idempotent. */
void nwl_finish(struct nwl_learner *l);

struct nwl_stats *nwl_stats(struct nwl_learner *l);
/* After nwl_finish: the edges, sorted (client, server, protocol). */
const struct nwl_edge *nwl_edges(const struct nwl_learner *l, size_t *n);
/* After nwl_finish: every entity (workloads of the model included, observed or not). */
struct nwl_ent *const *nwl_ents(const struct nwl_learner *l, size_t *n);
/* "Deployment shop/web", "node node-1", "203.0.113.7 (api.example.com)" */
void nwl_ent_format(const struct nwl_ent *e, struct nw_buf *out);

/*
 * NetworkPolicies, one per observed workload, into o. Returns how many.
 * now_text (may be NULL) is written in the header comment.
 */
size_t nwl_write_policies(struct nwl_learner *l, struct nw_out *o);
/* ClientIntents (k8s.otterize.com/v2beta1), one per client workload. */
size_t nwl_write_intents(struct nwl_learner *l, struct nw_out *o);
/* The coverage report: unattributed flows, unestablished ones, drops, silent workloads. */
void nwl_summary(struct nwl_learner *l, struct nw_buf *out);
/*
 * The observed established flows checked against the policies of ev's
 * cluster: each flow they would deny and each rule that never matched.
 * Returns the number of findings.
 */
size_t nwl_audit(struct nwl_learner *l, const struct nw_eval *ev, struct nw_buf *out);

/* "2026-01-02T03:04:05Z" */
void nwl_format_time(uint64_t ts_us, struct nw_buf *out);
/* RFC 3339 to microseconds; false if not parsable. */
bool nwl_parse_time(const char *s, uint64_t *ts_us);

#endif
