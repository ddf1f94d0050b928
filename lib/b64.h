/* b64.h — standard base64 (RFC 4648, with padding), as etcd's JSON gateway
 * carries keys and values. None of the libraries the daemon links exports
 * a decoder, hence these few lines. */
#ifndef VPCF_B64_H
#define VPCF_B64_H

#include <stddef.h>

/* Encode len bytes of in into out (outsz bytes, NUL-terminated): the length
 * written, or -1 if outsz is too small. */
int b64_encode(const void *in, size_t len, char *out, size_t outsz);
/* Decode the NUL-terminated in into out (outsz bytes, NUL-terminated, so
 * text values can be used as strings): the length decoded, or -1 if in is
 * not padded base64 or out is too small. */
int b64_decode(const char *in, char *out, size_t outsz);

#endif
