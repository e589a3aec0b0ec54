"""The AbandonedCheckout object (reference §2) and the shared envelopes, as OpenAPI components."""

from rest_framework import serializers

from ...models import AbandonedCheckout, Activity

DECIMAL = r"^-?\d+(\.\d+)?$"


def _text(**kwargs):
    return serializers.CharField(required=False, **kwargs)


class MultiCurrencyPriceSerializer(serializers.Serializer):
    amount = serializers.RegexField(DECIMAL, help_text="Decimal string in the store currency, e.g. '255' or '10.5'.")
    convertedAmount = serializers.RegexField(DECIMAL, help_text="Decimal string in conversionCurrency.")
    formattedAmount = serializers.CharField(help_text="With the currency symbol, e.g. '$255.00'.")
    formattedConvertedAmount = serializers.CharField()


class V1BuyerInfoSerializer(serializers.Serializer):
    contactId = _text()
    email = _text()
    visitorId = _text(help_text="One of visitorId / memberId / userId identifies the buyer.")
    memberId = _text()
    userId = _text()


class VatIdSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.ChoiceField(choices=["UNSPECIFIED", "CPF", "CNPJ"])


class FullAddressContactDetailsSerializer(serializers.Serializer):
    firstName = _text()
    lastName = _text()
    phone = _text()
    company = _text()
    vatId = VatIdSerializer(required=False)


class ActivitySerializer(serializers.Serializer):
    createdDate = serializers.DateTimeField()
    type = serializers.ChoiceField(choices=Activity.Type.choices)


class TranslatableStringSerializer(serializers.Serializer):
    original = serializers.CharField()
    translated = _text()


class CatalogReferenceSerializer(serializers.Serializer):
    catalogItemId = serializers.CharField()
    appId = serializers.CharField()
    options = serializers.DictField(required=False)


class LineItemSerializer(serializers.Serializer):
    id = _text()
    quantity = serializers.IntegerField(min_value=1, max_value=100000)
    catalogReference = CatalogReferenceSerializer(required=False)
    productName = TranslatableStringSerializer(required=False)
    price = MultiCurrencyPriceSerializer(required=False)
    priceBeforeDiscounts = MultiCurrencyPriceSerializer(required=False)
    descriptionLines = serializers.ListField(child=serializers.DictField(), required=False)
    image = serializers.DictField(required=False, help_text="{id, url, height, width, altText}")
    physicalProperties = serializers.DictField(required=False, help_text="{weight, sku, shippable}")


class AppliedDiscountSerializer(serializers.Serializer):
    coupon = serializers.DictField(required=False, help_text="{id, code, name, amount: MultiCurrencyPrice}")
    merchantDiscount = serializers.DictField(required=False, help_text="{amount: MultiCurrencyPrice, percentage}")
    discountRule = serializers.DictField(required=False, help_text="{id, name: {original, translated}, amount}")
    discountType = serializers.ChoiceField(choices=["GLOBAL", "SPECIFIC_ITEMS", "SHIPPING"], required=False)
    lineItemIds = serializers.ListField(child=serializers.CharField(), required=False)


class AbandonedCheckoutSerializer(serializers.Serializer):
    """Rendered by checkouts.wix.abandoned_checkout_to_wix; unset optional fields are omitted."""

    id = serializers.UUIDField()
    createdDate = serializers.DateTimeField(help_text="When the checkout was abandoned.")
    updatedDate = serializers.DateTimeField()
    checkoutId = _text()
    cartId = _text()
    status = serializers.ChoiceField(choices=AbandonedCheckout.Status.choices)
    buyerLanguage = _text()
    buyerInfo = V1BuyerInfoSerializer()
    contactDetails = FullAddressContactDetailsSerializer()
    currency = serializers.CharField(min_length=3, max_length=3)
    conversionCurrency = _text(min_length=3, max_length=3)
    checkoutUrl = serializers.URLField(help_text="The recovery link: Redirect To Checkout.")
    totalPrice = MultiCurrencyPriceSerializer()
    activities = ActivitySerializer(many=True, help_text="The latest 20, oldest first.")
    checkoutRecoveredDate = serializers.DateTimeField(required=False)
    subtotalPrice = MultiCurrencyPriceSerializer()
    lineItems = LineItemSerializer(many=True)
    appliedDiscounts = AppliedDiscountSerializer(many=True)


class ApplicationErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="NOT_FOUND, UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED, ...")
    description = serializers.CharField()
    data = serializers.DictField()


class FieldViolationSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="Path of the field in the request, e.g. query.filter.buyerInfo.phone.")
    description = serializers.CharField()
    violatedRule = serializers.CharField()
    ruleName = _text()
    data = serializers.DictField(required=False)


class ValidationErrorSerializer(serializers.Serializer):
    fieldViolations = FieldViolationSerializer(many=True)


class ErrorDetailsSerializer(serializers.Serializer):
    applicationError = ApplicationErrorSerializer(required=False)
    validationError = ValidationErrorSerializer(required=False)


class WixErrorSerializer(serializers.Serializer):
    message = serializers.CharField()
    details = ErrorDetailsSerializer()


class CursorsSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="Send as cursorPaging.cursor for the next page.")
    prev = serializers.CharField(allow_null=True, help_text="Send as cursorPaging.cursor for the previous page.")


class PagingMetadataV2Serializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Items in this response.")
    offset = serializers.IntegerField(required=False, help_text="Offset paging: the requested offset.")
    total = serializers.IntegerField(required=False, help_text="Offset paging: every match, unless tooManyToCount.")
    tooManyToCount = serializers.BooleanField(required=False, help_text="Offset paging: more than 10,000 matches.")
    cursors = CursorsSerializer(required=False, help_text="Cursor paging.")
    hasNext = serializers.BooleanField()
