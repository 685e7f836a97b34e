package nfon

import "encoding/base64"

// AppendStringToSign appends NFON's string to sign to dst and returns the
// extended buffer:
//
//	method "\n" [contentMD5 "\n" contentType "\n"] date "\n" resource
//
// It is the one place the layout is written (docs/PROTOCOLS.md, "NFON"):
// Signer.Sign and the browser module's allocation-free path both call it. The
// fields must already be in wire form, as StringToSign makes them: the method
// upper case, contentMD5 the lower-case hex MD5 of the body, or "" when the
// content is not signed (then contentType is left out too), date in DateLayout,
// resource normalized. It allocates only when dst has no room.
func AppendStringToSign(dst []byte, method, contentMD5, contentType, date, resource string) []byte {
	dst = append(dst, method...)
	dst = append(dst, '\n')
	if contentMD5 != "" {
		dst = append(dst, contentMD5...)
		dst = append(dst, '\n')
		dst = append(dst, contentType...)
		dst = append(dst, '\n')
	}
	dst = append(dst, date...)
	dst = append(dst, '\n')
	return append(dst, resource...)
}

// AppendAuthorization appends the Authorization header value for the HMAC-SHA1
// sum of the string to sign, "NFON-API <KeyId>:<base64(sum)>", to dst. It
// allocates only when dst has no room.
func AppendAuthorization(dst []byte, keyID string, sum []byte) []byte {
	dst = append(dst, Scheme...)
	dst = append(dst, ' ')
	dst = append(dst, keyID...)
	dst = append(dst, ':')
	return base64.StdEncoding.AppendEncode(dst, sum)
}
