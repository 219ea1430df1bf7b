/* SPDX-License-Identifier: Apache-2.0 */
/* Writing pcap fixtures for the learner's tests (libpcap's dumper on a dead handle). */
#ifndef NETWARD_TESTS_FIXTURE_H
#define NETWARD_TESTS_FIXTURE_H

#include "pktgen.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

struct fixture {
	pcap_t *dead;
	pcap_dumper_t *d;
	char path[256];
	struct pg_opts o;
	uint64_t ts_us;
	uint8_t buf[2048];
};

static inline void fx_open(struct fixture *f, const char *name, int link)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "/tmp/nwlearn-%d-%s.pcap", (int)getpid(), name);
	/* LINKTYPE_RAW (101) is DLT_RAW in libpcap's own numbering. */
	f->dead = pcap_open_dead(link == PG_RAW ? DLT_RAW : link, 65535);
	f->d = pcap_dump_open(f->dead, f->path);
	if (f->d == NULL) {
		fprintf(stderr, "fixture %s: %s\n", f->path, pcap_geterr(f->dead));
		abort();
	}
	f->o.link = link;
	f->ts_us = 1700000000ULL * 1000000;
}

/* Writes the frame in f->buf (len bytes), keeping caplen of it (0: all). */
static inline void fx_put(struct fixture *f, size_t len, size_t caplen)
{
	struct pcap_pkthdr h;

	h.ts.tv_sec = (time_t)(f->ts_us / 1000000);
	h.ts.tv_usec = (suseconds_t)(f->ts_us % 1000000);
	h.len = (bpf_u_int32)len;
	h.caplen = (bpf_u_int32)(caplen && caplen < len ? caplen : len);
	pcap_dump((u_char *)f->d, &h, f->buf);
	f->ts_us += 1000;
}

static inline void fx_close(struct fixture *f)
{
	pcap_dump_close(f->d);
	pcap_close(f->dead);
}

/* A TCP handshake: SYN, then SYN-ACK (answer 1), RST (2) or nothing (0). */
static inline void fx_tcp(struct fixture *f, const char *c, uint16_t cp, const char *s, uint16_t sp, int answer,
			  uint32_t isn)
{
	fx_put(f, pg_tcp(f->buf, &f->o, c, cp, s, sp, PG_SYN, isn, 0, 0), 0);
	if (answer == 1) {
		fx_put(f, pg_tcp(f->buf, &f->o, s, sp, c, cp, PG_SYN | PG_ACK, 5000, isn + 1, 0), 0);
		/* The rest of the connection: the learner must ignore it. */
		fx_put(f, pg_tcp(f->buf, &f->o, c, cp, s, sp, PG_ACK, isn + 1, 5001, 0), 0);
		fx_put(f, pg_tcp(f->buf, &f->o, c, cp, s, sp, PG_ACK | PG_PSH, isn + 1, 5001, 100), 0);
		fx_put(f, pg_tcp(f->buf, &f->o, s, sp, c, cp, PG_ACK | PG_FIN, 5001, isn + 101, 0), 0);
	} else if (answer == 2) {
		fx_put(f, pg_tcp(f->buf, &f->o, s, sp, c, cp, PG_RST | PG_ACK, 0, isn + 1, 0), 0);
	}
}

#endif
