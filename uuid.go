package till

import (
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"math/bits"
	"strings"
)

// idChars is the number of base62 characters after an ID's prefix.
const idChars = 22

var (
	sixtyTwo = big.NewInt(62)
	// maxUUID is 2^128, the first value no UUID has.
	maxUUID = new(big.Int).Lsh(big.NewInt(1), 128)
)

// encodeBase62 returns the 22 base62 characters of the 128-bit big-endian
// number u, zero-padded on the left: long division of its two 64-bit
// halves by 62 (every new id goes through it, so it allocates only the
// string).
func encodeBase62(u [16]byte) string {
	hi, lo := binary.BigEndian.Uint64(u[:8]), binary.BigEndian.Uint64(u[8:])
	var out [idChars]byte
	for i := idChars - 1; i >= 0; i-- {
		var r uint64
		hi, r = hi/62, hi%62
		lo, r = bits.Div64(r, lo, 62)
		out[i] = base62[r]
	}
	return string(out[:])
}

// IDToUUID returns the UUID (lower-case, 8-4-4-4-12) that id of an object
// whose prefix is prefix stands for: the number its 22 base62 characters
// encode. It reports false for an id without that prefix or without 22
// base62 characters after it, or whose characters encode a number of more
// than 128 bits; such ids (made by test ID sources, say) have no UUID. Every
// id made by RandomIDs has one, and IDFromUUID returns id from it.
func IDToUUID(id, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) != idChars {
		return "", false
	}
	n := new(big.Int)
	for i := 0; i < len(rest); i++ {
		d := strings.IndexByte(base62, rest[i])
		if d < 0 {
			return "", false
		}
		n.Mul(n, sixtyTwo).Add(n, big.NewInt(int64(d)))
	}
	if n.Cmp(maxUUID) >= 0 {
		return "", false
	}
	var u [16]byte
	n.FillBytes(u[:])
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], true
}

// IDFromUUID returns the id with prefix that the UUID u stands for (the
// inverse of IDToUUID). u is the canonical 36-character form, in any case;
// anything else reports false.
func IDFromUUID(prefix, u string) (string, bool) {
	if len(u) != 36 || u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-' {
		return "", false
	}
	var b [16]byte
	if _, err := hex.Decode(b[:], []byte(u[:8]+u[9:13]+u[14:18]+u[19:23]+u[24:])); err != nil {
		return "", false
	}
	return prefix + encodeBase62(b), true
}
