/* b64.c — base64 encode and decode (see b64.h). */
#include <string.h>

#include "lib/b64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_encode(const void *in, size_t len, char *out, size_t outsz)
{
	const unsigned char *p = in;
	size_t o = 0;

	if (outsz < (len + 2) / 3 * 4 + 1)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

static int sextet(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

int b64_decode(const char *in, char *out, size_t outsz)
{
	size_t len = strlen(in), o = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int last = i + 4 == len;
		int pad = last && in[i + 3] == '=' ? (in[i + 2] == '=' ? 2 : 1) : 0;
		int a = sextet(in[i]), b = sextet(in[i + 1]);
		int c = pad == 2 ? 0 : sextet(in[i + 2]);
		int d = pad >= 1 ? 0 : sextet(in[i + 3]);

		if (a < 0 || b < 0 || c < 0 || d < 0)
			return -1;
		unsigned v = (unsigned)a << 18 | (unsigned)b << 12 | (unsigned)c << 6 |
			     (unsigned)d;
		if (o + 3 - (size_t)pad + 1 > outsz)
			return -1;
		out[o++] = (char)(v >> 16);
		if (pad < 2)
			out[o++] = (char)(v >> 8 & 0xff);
		if (pad < 1)
			out[o++] = (char)(v & 0xff);
	}
	if (outsz == 0)
		return -1;
	out[o] = '\0';
	return (int)o;
}
