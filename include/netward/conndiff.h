/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netward diff: the connectivity that changes between two sets of
 * manifests. Every ordered pair of pods present in both (matched by
 * namespace and name), and every pod with each region of addresses outside
 * the cluster that some ipBlock of either set distinguishes, is compared
 * over every port of every protocol: the result is exact, not sampled.
 * Pure: works on two models.
 */
#ifndef NETWARD_CONNDIFF_H
#define NETWARD_CONNDIFF_H

#include <netward/eval.h>

struct nw_conn_change {
	bool allowed; /* true: newly allowed; false: newly denied */
	char *from, *to; /* "ns/pod", or an address range ("10.0.0.0/8", "any other address") */
	int proto;
	struct nw_portset ports; /* the ports that changed */
	/* The pair in each model, to explain the change (pointers into the models). */
	struct nw_endpoint old_src, old_dst, new_src, new_dst;
};

struct nw_conn_diff {
	NW_VEC(struct nw_conn_change) changes;
	NW_VEC(char *) only_old, only_new; /* pods in one set only: not compared */
	size_t pairs;			   /* pairs compared */
	size_t allowed, denied;		   /* changes of each kind */
};

/* Compares a (old) to b (new) in one address family. */
void nw_conn_diff(const struct nw_cluster *a, const struct nw_cluster *b, int family, struct nw_conn_diff *out);
void nw_conn_diff_free(struct nw_conn_diff *d);

/* s minus o, as ranges. */
void nw_portset_minus(const struct nw_portset *s, const struct nw_portset *o, struct nw_portset *out);
/* "80, 8000-8100", "all" */
void nw_portset_format(const struct nw_portset *s, struct nw_buf *out);

#endif
