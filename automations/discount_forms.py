"""The automation's discount offer and the upload of its code pool, as its discount page edits them."""

from django import forms

from checkouts.connectors.discounts import DiscountCodesUnsupported, discount_code_maker
from checkouts.models import Connection, Store

from .models import DiscountOffer
from .services.discount_pool import MAX_UPLOAD_BYTES, code_problem


class DiscountOfferForm(forms.ModelForm):
    class Meta:
        model = DiscountOffer
        fields = ["source", "static_code", "from_position", "connection", "percent_off"]
        labels = {
            "source": "Discount code",
            "static_code": "Code for everyone",
            "from_position": "Emails show the code from step",
            "connection": "Platform that makes the codes",
            "percent_off": "Percent off (platform codes)",
        }
        widgets = {"source": forms.RadioSelect}

    def __init__(self, *args, store: Store, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["connection"].queryset = Connection.objects.for_store(store).order_by("created_at", "id")
        self.fields["connection"].required = False

    def clean_static_code(self) -> str:
        code = self.cleaned_data.get("static_code", "").strip()
        if code and (problem := code_problem(code)):
            raise forms.ValidationError(f"This code cannot be typed at checkout: {problem}.")
        return code

    def clean(self):
        cleaned = super().clean()
        source = cleaned.get("source")
        if source == DiscountOffer.Source.STATIC and not cleaned.get("static_code"):
            self.add_error("static_code", "Enter the code every buyer gets.")
        if source == DiscountOffer.Source.PLATFORM:
            connection = cleaned.get("connection")
            if connection is None:
                self.add_error("connection", "Choose the connection whose platform makes the codes.")
            else:
                try:
                    discount_code_maker(connection.platform, label=connection.get_platform_display())
                except DiscountCodesUnsupported as exc:
                    self.add_error("connection", str(exc))
        return cleaned


class CodeUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file of codes",
        help_text=f"One code per row, in the first column; a header row is fine. Up to {MAX_UPLOAD_BYTES // 1024} kB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // 1024} kB: split it.")
        return upload
