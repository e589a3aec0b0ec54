"""How many SMS segments a text takes: GSM-7 when every character is in the GSM 03.38 alphabet,
else UCS-2 (3GPP TS 23.038). `static/js/sms_counter.js` counts the same way in the form."""

from dataclasses import dataclass

# The GSM 03.38 basic alphabet (one septet each) and its extension table (escape + septet: two).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
# One segment holds 140 octets; a multi-part message gives 6 of each to its concatenation header.
SINGLE = {"GSM-7": 160, "UCS-2": 70}
MULTI = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int

    @property
    def label(self) -> str:
        plural = "" if self.segments == 1 else "s"
        return f"{self.units} characters, {self.encoding}, {self.segments} segment{plural}"


def sms_length(text: str) -> SmsLength:
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text):
        encoding = "GSM-7"
        units = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
    else:
        encoding = "UCS-2"
        # An emoji outside the Basic Multilingual Plane is a surrogate pair: two units.
        units = len(text.encode("utf-16-le")) // 2
    single, multi = SINGLE[encoding], MULTI[encoding]
    segments = 0 if not units else 1 if units <= single else -(-units // multi)
    return SmsLength(encoding, units, segments, single if segments == 1 else multi)
