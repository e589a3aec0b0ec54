"""A text's length in SMS segments, as the form and the preview show it."""

import pytest

from automations.messages.sms import sms_length


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),  # two parts of 153
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # the extension table's characters take two septets
        ("€" + "a" * 159, "GSM-7", 161, 2),
        ("Café à Zürich, ÄÖÑÜ", "GSM-7", 19, 1),  # accents of the GSM alphabet stay GSM-7
        ("ç" + "a" * 69, "UCS-2", 70, 1),  # lower-case ç is not in it: the whole text is UCS-2
        ("ç" + "a" * 70, "UCS-2", 71, 2),
        ("あ" * 134, "UCS-2", 134, 2),  # two parts of 67
        ("あ" * 135, "UCS-2", 135, 3),
        ("🛒" * 35, "UCS-2", 70, 1),  # outside the BMP: a surrogate pair, two units
    ],
)
def test_segments(text, encoding, units, segments):
    length = sms_length(text)
    assert (length.encoding, length.units, length.segments) == (encoding, units, segments)


def test_the_label_says_what_the_merchant_needs():
    assert sms_length("a" * 161).label == "161 characters, GSM-7, 2 segments"
    assert sms_length("a" * 161).per_segment == 153 and sms_length("あ").per_segment == 70
