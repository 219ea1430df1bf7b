/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the learner's packet path: bytes -> link, VLAN, IP,
 * IPv6 extension headers, TCP/UDP/SCTP -> DNS answers -> flow table ->
 * aggregation -> policies. The first byte picks the link type, the rest is
 * the frame; the same bytes are also read as a DNS message. Any crash,
 * leak, hang or sanitizer report is a bug; skipped packets are fine.
 */
#include <netward/learn.h>
#include <netward/np_out.h>

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int links[] = { NWL_DLT_EN10MB, NWL_DLT_LINUX_SLL, NWL_DLT_LINUX_SLL2, NWL_DLT_RAW,
				     NWL_DLT_NULL,   NWL_DLT_IPV4,	NWL_DLT_IPV6 };
	struct nwl_learner *l;
	struct nwl_dns dns;
	struct nw_out o = { 0 };
	struct nw_buf b = { 0 };
	int link;

	if (size < 1)
		return 0;
	link = links[data[0] % NW_ARRAY_SIZE(links)];
	nwl_dns_parse(data + 1, size - 1, &dns);
	l = nwl_new(NULL, NULL);
	/* The frame, then the same frame a second later (answers, duplicates, idle flows). */
	nwl_feed(l, link, 1000000, data + 1, (uint32_t)(size - 1));
	nwl_feed(l, link, 2000000, data + 1, (uint32_t)(size - 1));
	nwl_write_policies(l, &o);
	nwl_write_intents(l, &o);
	nw_out_yaml(&o, &b);
	nwl_summary(l, &b);
	nw_buf_free(&b);
	nw_out_free(&o);
	nwl_free(l);
	return 0;
}
