/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ConnectivityTest specs: the YAML a team keeps next to its manifests to
 * assert who may and may not reach whom (netward test). Decoding is strict:
 * an unknown field or a malformed value is an error with file:line:col, so
 * a typo can never turn into a test that silently passes.
 * Pure: works on document trees the YAML/JSON adapters built.
 *
 *   apiVersion: netward.io/v1alpha1
 *   kind: ConnectivityTest
 *   metadata: {name: shop}
 *   spec:
 *     manifests: [../demo/]          # relative to the spec file
 *     defaultDeny: off               # off | namespace | cluster
 *     probe: {timeoutSeconds: 2, attempts: 2}
 *     cases:
 *     - name: frontend reaches backend
 *       from: shop/deployment/frontend
 *       to: shop/deployment/backend
 *       port: 8080                   # number, name, or "53/UDP"
 *       protocol: TCP                # default TCP
 *       expect: allow                # allow | deny
 *       decidedBy: shop/backend      # optional: a policy (or a list) that must decide
 *       xfail: "reason"              # optional: known to fail
 *       skip: "reason"               # optional: not run
 */
#ifndef NETWARD_SPEC_H
#define NETWARD_SPEC_H

#include <netward/diag.h>
#include <netward/doc.h>

#define NW_SPEC_API_VERSION "netward.io/v1alpha1"
#define NW_SPEC_KIND "ConnectivityTest"

struct nw_spec_case {
	char *name;	    /* as written, or generated from from/to/port */
	char *from, *to;    /* targets: NS/POD, NS/KIND/NAME or an IP address */
	char *port;	    /* PORT[/PROTO] text, the protocol folded in: "8080/TCP", "http/TCP" */
	bool expect_allow;
	NW_VEC(char *) decided_by; /* "ns/name" of policies; any of them deciding passes */
	char *xfail, *skip;	   /* reasons, or NULL */
	struct nw_loc loc;	   /* the case's map in the spec */
	uint32_t index;
};

struct nw_spec {
	char *file; /* the spec file */
	char *name; /* metadata.name, or the file name */
	NW_VEC(char *) manifests; /* resolved against the spec file's directory */
	int default_deny;	  /* enum nw_default_deny, or -1 when not given */
	unsigned timeout_ms;	  /* 0: not given */
	unsigned attempts;	  /* 0: not given */
	NW_VEC(struct nw_spec_case) cases;
	struct nw_loc loc;
};

/* True if the document is a ConnectivityTest (by kind); other documents are not specs. */
bool nw_spec_is(const struct nw_node *root);
/*
 * Decodes one ConnectivityTest document of `file` into s. Returns the number
 * of errors added to d (0: s is complete and usable). s is always
 * initialised and must be freed with nw_spec_free.
 */
size_t nw_spec_decode(const struct nw_node *root, const char *file, struct nw_spec *s, struct nw_diags *d);
void nw_spec_free(struct nw_spec *s);

/* "dir/of/spec/" + rel, unless rel is absolute. Caller frees. */
char *nw_spec_path_join(const char *spec_file, const char *rel);

#endif
