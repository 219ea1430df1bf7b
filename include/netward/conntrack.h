/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cutting established connections a new plan denies. Established and
 * related packets are accepted before policy, so after a change that
 * tightens policy netward deletes exactly the conntrack entries whose
 * original direction the plan would now refuse as a new connection; the
 * next packet of such a flow is checked again (and dropped).
 */
#ifndef NETWARD_CONNTRACK_H
#define NETWARD_CONNTRACK_H

#include <netward/plan.h>

struct nw_ct_stats {
	size_t seen;	/* entries in the table */
	size_t checked; /* entries of local pods' flows */
	size_t deleted;
};

/* In the caller's network namespace. 0 or -errno (err says why). */
int nw_ct_cleanup(const struct nw_plan *plan, struct nw_ct_stats *st, struct nw_buf *err);

/* The decision alone (pure): would plan deny this flow as a new connection? */
bool nw_ct_flow_denied(const struct nw_plan *plan, const struct nw_addr *src, const struct nw_addr *dst, uint8_t proto,
		       uint16_t dport);

#endif
