package conf

import "strings"

// GSM 03.38: the characters an SMS carries in its 7-bit default alphabet,
// 160 to a message. The extension table's characters take two septets. A
// text with any other character travels as UCS-2, 70 characters to a
// message.
const (
	gsmBasic     = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "^{}\\[~]|€\f"
)

// smsLength returns how much of one SMS text takes, and the most one SMS
// holds in the encoding it needs: septets of 160 in the GSM 7-bit
// alphabet, else UTF-16 code units of 70.
func smsLength(text string) (used, limit int) {
	for _, r := range text {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			used++
		case strings.ContainsRune(gsmExtension, r):
			used += 2
		default:
			return ucs2Length(text), 70
		}
	}
	return used, 160
}

// ucs2Length counts text in UTF-16 code units.
func ucs2Length(text string) int {
	n := 0
	for _, r := range text {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}
