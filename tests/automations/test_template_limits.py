"""A merchant's template cannot exhaust memory or time: amplifiers are refused when the step is
saved, and a template past a limit at send time ends as TEMPLATE_ERROR, quickly."""

import tracemalloc

import pytest
from django.core import mail

from automations.messages import limits
from automations.models import Reason
from checkouts.models import Activity, Membership
from tests.automations.helpers import abandon, activities, after, dispatch_at, email_step, only_automation
from tests.automations.test_views_automations import form_data, step_data
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def nested(depth: int, over: str = "first_name", body: str = "") -> str:
    letters = "abcdefgh"[:depth]
    return "".join(f"{{% for {x} in {over} %}}" for x in letters) + body + "{% endfor %}" * depth


def doubling(levels: int, start: str) -> str:
    """`a|add:a` nested: each level doubles the value."""
    names = [f"v{n}" for n in range(levels + 1)]
    opens = f"{{% with v0={start} %}}" + "".join(
        f"{{% with {names[n + 1]}={names[n]}|add:{names[n]} %}}" for n in range(levels)
    )
    return opens + f"{{{{ {names[-1]}|length }}}}" + "{% endwith %}" * (levels + 1)


AMPLIFIERS = {
    "ljust": "{{ first_name|ljust:2000000000 }}",
    "rjust": '{{ first_name|rjust:"2000000000" }}',
    "center": "{{ first_name|center:2000000000 }}",
    "ljust in a branch never taken": "{% if not first_name %}{{ first_name|ljust:2000000000 }}{% endif %}",
    "stringformat width": '{{ first_name|stringformat:"2000000000s" }}',
    "stringformat precision": '{{ total|stringformat:".2000000000f" }}',
    "stringformat with a star": '{{ total|stringformat:"*d" }}',
    "floatformat": "{{ total|floatformat:2000000000 }}",
    "floatformat negative": '{{ total|floatformat:"-2000000000" }}',
    "nested for": nested(3),
    "nested for over make_list": nested(3, over="first_name|make_list", body="x"),
    "nested for with cycle": nested(3, body="{% cycle 'aaaaaaaa' 'b' %}"),
    "nested for with ifchanged": nested(3, body="{% ifchanged %}x{% endifchanged %}"),
    "join": "{% with s=first_name|ljust:1000 %}{{ s|make_list|join:s }}{% endwith %}",
    "add doubling a string": doubling(12, "first_name|ljust:1000"),
    "add doubling a list": doubling(16, "first_name|make_list"),
    "widthratio as a width": "{% widthratio 1 1 2000000000 as w %}{{ first_name|ljust:w }}",
    "filter tag": "{% filter ljust:2000000000 %}x{% endfilter %}",
    "lorem": "{% lorem 1000000 w %}",
    "urlize": "{{ first_name|urlize }}",
    "unordered_list": "{{ items|unordered_list }}",
    "pprint": "{{ items|pprint }}",
    "include": '{% include "base.html" %}',
    "extends": '{% extends "base.html" %}',
    "load": "{% load static %}",
    "debug": "{% debug %}",
    "source too long": "{% now 'r' %}" * 6000,
    "wordwrap zero": "{{ first_name|wordwrap:0 }}",
    "nesting past the stack": "{% if first_name %}" * 1500 + "{% endif %}" * 1500,
}


def step_form_post(client, body: str):
    return client.post("/automations/new/", form_data([step_data(0, body=body)]))


@pytest.fixture
def manager_client(client, store):
    user = UserFactory(username="mia")
    MembershipFactory(store=store, user=user, role=Membership.Role.MANAGER)
    client.force_login(user)
    return client


@pytest.mark.parametrize("source", AMPLIFIERS.values(), ids=AMPLIFIERS.keys())
def test_each_amplifier_is_refused_at_save_naming_the_field(manager_client, source):
    response = step_form_post(manager_client, source)
    assert response.status_code == 400
    form = response.context["steps"].forms[0]
    assert "body" in form.errors, form.errors
    assert form.errors["body"][0].startswith("This template does not work")


def test_the_message_says_which_limit(manager_client):
    response = step_form_post(manager_client, AMPLIFIERS["ljust"])
    assert "|ljust: the width 2000000000 is above the limit of 1000." in response.content.decode()
    response = step_form_post(manager_client, nested(3))
    assert "This template does too much work" in response.content.decode()


@pytest.mark.parametrize(
    "source",
    [
        "Hi {{ first_name|ljust:20 }}|{{ total|floatformat:2 }}|{{ total|stringformat:'10s' }}",
        "{% for item in items %}{{ item.name|truncatechars:30 }} x{{ item.quantity }}{% endfor %}",
        "{{ first_name|truncatechars:-5 }}{{ first_name|default:'friend'|title }}",
        "{% for a in first_name %}{% for b in last_name %}{{ a }}{{ b }}{% endfor %}{% endfor %}",
    ],
)
def test_ordinary_templates_still_save(manager_client, store, source):
    response = step_form_post(manager_client, source)
    assert response.status_code == 302, response.context["steps"].forms[0].errors


@pytest.fixture
def automation(store):
    return only_automation(store)


@pytest.mark.parametrize(
    "source",
    [
        AMPLIFIERS["ljust"],
        nested(3, body="x"),
        "{% with s=first_name|ljust:300 %}{% for a in s %}{% for b in s %}{{ s }}{% endfor %}{% endfor %}{% endwith %}",
        AMPLIFIERS["nesting past the stack"],
        "{{ first_name|wordwrap:0 }}",
    ],
    ids=["width", "loops", "output", "nesting", "a filter failing"],
)
def test_a_template_past_a_limit_at_send_time_is_a_template_error(store, automation, source):
    # Saved before the limits existed (or through the admin): the dispatcher must refuse it itself.
    email_step(automation, body=source)
    (ac,) = abandon(store, first_name="A" * 60)
    dispatch_at(after(hours=1))
    assert mail.outbox == []
    assert activities(ac)[-1] == (Activity.Type.EMAIL_NOT_SENT, Reason.TEMPLATE_ERROR)


def test_a_text_message_past_a_limit_is_a_template_error(store, automation):
    email_step(automation, action="NOTIFY_BUYER", message=AMPLIFIERS["center"], subject="", body="")
    (ac,) = abandon(store, phone="+15555550100", marketing_consent={"sms": True})
    dispatch_at(after(hours=1))
    assert activities(ac)[-1] == (Activity.Type.AUTOMATION_SKIPPED, Reason.TEMPLATE_ERROR)


@pytest.mark.parametrize(
    "source",
    [
        "{{ first_name|ljust:50000000 }}",
        "{% with s=first_name|ljust:1000 %}" + nested(2, over="s", body="{{ s }}") + "{% endwith %}",
    ],
    ids=["width", "output"],
)
def test_the_preview_of_a_malicious_template_answers_with_an_error_in_bounded_memory(
    client, store, owner, automation, source
):
    step = email_step(automation, body=source)
    abandon(store, first_name="Ada")
    client.force_login(owner)
    tracemalloc.start()
    try:
        response = client.get(f"/automations/{automation.pk}/preview/?step={step.pk}")
        frame = client.get(f"/automations/{automation.pk}/preview/html/?step={step.pk}")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 200 and response.context["error"]
    assert frame.status_code == 400 and b"This template does not work" in frame.content
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"


def test_the_budget_is_per_render():
    from automations.messages.engine import render

    source = nested(2, body="x")  # 10,000 turns for a 100-character name: well within one render
    name = "n" * 100
    for _ in range(30):
        assert len(render(source, {"first_name": name}, autoescape=False)) == 100 * 100
    assert limits.MAX_STEPS < 30 * 100 * 100


def test_a_render_past_its_cpu_budget_stops(monkeypatch):
    """The CPU budget is the backstop for work the step count does not see; with none left, a
    render stops at its first check instead of running on."""
    from django.template import TemplateSyntaxError

    from automations.messages.engine import render

    monkeypatch.setattr(limits, "TIME_BUDGET_SECONDS", -1)
    with pytest.raises(TemplateSyntaxError, match="takes too long to render"):
        render(nested(2, body="x"), {"first_name": "n" * 100}, autoescape=False)
