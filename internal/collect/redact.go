package collect

import (
	"bytes"
	"regexp"
)

// Secrets never leave the host (spec.md). What is redacted:
//   - keepalived's auth_pass: replaced by as many '*' as it had characters,
//     because diagnose still checks the length (keepalived truncates at 8);
//   - key-like settings in any file: password, passwd, secret, token,
//     api key, access key, private key, as "key value", "key=value",
//     "key: value" or an XML attribute (libvirt's graphics passwd='...');
//   - PEM private key blocks.
var (
	authPassRE = regexp.MustCompile(`(?m)^(\s*auth_pass\s+)(\S+)`)
	keyLikeRE  = regexp.MustCompile(`(?im)\b((?:[a-z0-9_-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key))["']?\s*(?:[:=]|\s)\s*["']?)([^\s"'<>,;]+)`)
	pemRE      = regexp.MustCompile(`(?s)(-----BEGIN [A-Z ]*PRIVATE KEY-----).*?(-----END [A-Z ]*PRIVATE KEY-----)`)
)

// Placeholder replaces a key-like value.
const Placeholder = "<redacted>"

// Redact returns data with secrets replaced and how many it replaced.
func Redact(data []byte) ([]byte, int) {
	n := 0
	data = authPassRE.ReplaceAllFunc(data, func(m []byte) []byte {
		n++
		sub := authPassRE.FindSubmatch(m)
		return append(append([]byte{}, sub[1]...), bytes.Repeat([]byte("*"), len(sub[2]))...)
	})
	data = pemRE.ReplaceAllFunc(data, func(m []byte) []byte {
		n++
		sub := pemRE.FindSubmatch(m)
		return append(append(append([]byte{}, sub[1]...), "\n"+Placeholder+"\n"...), sub[2]...)
	})
	data = keyLikeRE.ReplaceAllFunc(data, func(m []byte) []byte {
		sub := keyLikeRE.FindSubmatch(m)
		v := sub[2]
		if bytes.Equal(v, []byte(Placeholder)) {
			return m
		}
		n++
		return append(append([]byte{}, sub[1]...), Placeholder...)
	})
	return data, n
}
