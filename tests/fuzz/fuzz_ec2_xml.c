/* fuzz_ec2_xml — EC2 Query API response bodies (vpc/ec2_xml.c): the first
 * byte picks the parser, the rest is the body, as curl would hand it over.
 * Selector 2 with bit 7 set: STS's AssumeRoleResponse. */
#include "tests/fuzz/fuzz.h"
#include "vpc/ec2_xml.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const actions[] = {"ReplaceRoute", "CreateRoute",
					      "DeleteRoute",
					      "ModifyNetworkInterfaceAttribute"};
	char errbuf[256], next[512];
	struct ec2_table *tables = NULL;
	struct ec2_eni *enis = NULL;
	struct ec2_error err;
	size_t n = 0;

	if (size < 1)
		return 0;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 4) {
	case 0:
		/* A second page appends to the first: parse the body twice. */
		if (ec2_xml_describe(body, len, &tables, &n, next, sizeof(next), errbuf,
				     sizeof(errbuf)) == 0)
			ec2_xml_describe(body, len, &tables, &n, next, sizeof(next),
					 errbuf, sizeof(errbuf));
		ec2_tables_free(tables, n);
		break;
	case 1:
		ec2_xml_describe_enis(body, len, &enis, &n, next, sizeof(next), errbuf,
				      sizeof(errbuf));
		free(enis);
		break;
	case 2:
		if (data[0] & 0x80) {
			struct aws_creds c;
			char arn[256];
			ec2_xml_assume_role(body, len, &c, arn, sizeof(arn), errbuf,
					    sizeof(errbuf));
			break;
		}
		ec2_xml_ok(body, len, actions[(data[0] >> 2) % 4], errbuf,
			   sizeof(errbuf));
		break;
	case 3:
		memset(&err, 0, sizeof(err));
		err.http_status = 400 + (data[0] >> 2);
		ec2_xml_error(body, len, &err);
		ec2_classify(err.http_status, err.code, err.message);
		break;
	}
	return 0;
}
