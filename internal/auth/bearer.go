package auth

import "strings"

// BearerToken extracts the token of an Authorization header value
// ("Bearer TOKEN", the scheme in any case, RFC 7235 2.1).
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
