"""POST /api/v1/buyers/erase: erase one buyer (by email) from the key's store."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from ...models import ApiKey
from ...services.privacy import buyer_erase
from ..auth import ApiKeyUser
from ..base import StoreAPIView
from ..openapi.responses import with_errors

TAG = "Privacy"


class BuyerEraseRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254, help_text="The buyer's email address (any case).")


class ErasureRecordSerializer(serializers.Serializer):
    """What an erasure leaves behind: never the address, only a keyed hash of it."""

    id = serializers.IntegerField(source="pk")
    erasedDate = serializers.DateTimeField(source="erased_at")
    emailHash = serializers.CharField(
        source="email_hash", help_text="HMAC-SHA256 (keyed with the install's secret) of the lower-cased address."
    )
    erasedBy = serializers.CharField(source="actor_label", help_text="The member or API key that asked.")
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="Rows erased per kind: abandonedCheckouts, checkouts, …"
    )


class BuyerEraseView(StoreAPIView):
    scopes = {"POST": ApiKey.Scope.DELETE}

    @extend_schema(
        operation_id="eraseBuyer",
        summary="Erase a buyer",
        description=(
            "Removes or anonymises everything this store holds about the buyer with this email: checkouts, "
            "abandoned checkouts, activities, emails sent, tasks, notifications, webhook payloads and "
            "delivery logs; cancels their pending automation steps; and records the erasure (counts and a "
            "keyed hash of the address, never the address). Needs the `delete` scope, or the Manager role."
        ),
        tags=[TAG],
        request=BuyerEraseRequestSerializer,
        responses=with_errors({200: ErasureRecordSerializer}),
    )
    def post(self, request):
        body = BuyerEraseRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = request.user
        if isinstance(user, ApiKeyUser):
            record = buyer_erase(store=self.store, email=body.validated_data["email"], actor_label=user.label)
        else:
            record = buyer_erase(store=self.store, email=body.validated_data["email"], actor=user)
        return Response(ErasureRecordSerializer(record).data)
