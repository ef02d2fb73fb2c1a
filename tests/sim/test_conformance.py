"""The double's swagger declares only what real Asterisk 22 declares (same names, types)."""

from __future__ import annotations

import inspect
import json
import re

import aiohttp
import pytest

from coovox.ari import basic_auth
from coovox.ari.connection import REQUIRED_OPERATIONS, missing_operations, swagger_resources
from coovox.sim import engine, media, swagger
from coovox.sim.state import ASTERISK_ID
from tests.support.ari import PASSWORD, USER, shared_ari

AUTH = {"Authorization": basic_auth(USER, PASSWORD)}


def real(name: str) -> dict:
    return json.loads((shared_ari() / "api-docs" / f"{name}.json").read_text())


def operations(doc: dict) -> dict[tuple[str, str], dict]:
    return {(api["path"], op["httpMethod"]): op for api in doc["apis"] for op in api["operations"]}


@pytest.mark.parametrize("name", sorted(swagger.RESOURCES))
def test_every_operation_and_parameter_exists_in_asterisk(name):
    ours = operations(swagger.api_declaration(name, "http://127.0.0.1:1/ari"))
    theirs = operations(real(name))
    assert ours
    for key, op in ours.items():
        assert key in theirs, f"{name}: {key} is not an Asterisk operation"
        real_op = theirs[key]
        assert op["nickname"] == real_op["nickname"]
        assert op["responseClass"] == real_op["responseClass"]
        real_params = {p["name"]: p for p in real_op.get("parameters", [])}
        for param in op["parameters"]:
            assert param["name"] in real_params, f"{key}: unknown parameter {param['name']}"
            real_param = real_params[param["name"]]
            assert param["paramType"] == real_param["paramType"], (key, param["name"])
            assert param["dataType"] == real_param["dataType"], (key, param["name"])
            assert param["allowMultiple"] == real_param.get("allowMultiple", False)
        for real_param in real_params.values():  # what Asterisk requires, we declare too
            if real_param.get("required"):
                assert real_param["name"] in {p["name"] for p in op["parameters"]}, key


def test_event_models_exist_in_events_json_with_their_fields():
    real_models = real("events")["models"]
    for model_id, model in swagger.RESOURCES["events"]["models"].items():
        assert model_id in real_models, model_id
        real_props = real_models[model_id]["properties"]
        for prop, spec in model["properties"].items():
            assert prop in real_props, f"{model_id}.{prop}"
            assert spec["type"] == real_props[prop]["type"], f"{model_id}.{prop}"


def test_every_event_the_double_sends_is_a_declared_model():
    text = inspect.getsource(engine) + inspect.getsource(media)
    sent = set(re.findall(r'(?:chan_)?event\("([A-Z][A-Za-z]+)"', text))
    assert {"StasisStart", "Dial", "ChannelDestroyed", "PlaybackFinished"} <= sent
    declared = set(swagger.RESOURCES["events"]["models"])
    assert sent <= declared, sent - declared
    assert sent <= set(real("events")["models"])


def test_resource_listing_names_the_real_api_version():
    listing = swagger.resource_listing("http://127.0.0.1:1/ari")
    assert listing["apiVersion"] == real("resources")["apiVersion"]
    assert listing["swaggerVersion"] == "1.1"
    real_paths = {api["path"] for api in real("resources")["apis"]}
    assert {api["path"] for api in listing["apis"]} <= real_paths


async def test_the_served_swagger_passes_the_connections_check(double):
    """What ``AriConnection`` reads at connect: every resource and operation it uses."""
    async with aiohttp.ClientSession(headers=AUTH) as session:
        async with session.get(double.url + "/ari/api-docs/resources.json") as resp:
            names = swagger_resources(await resp.json())
        docs = {}
        for name in names:
            async with session.get(f"{double.url}/ari/api-docs/{name}.json") as resp:
                docs[name] = await resp.json()
    assert set(names) == set(swagger.RESOURCES)
    assert set(REQUIRED_OPERATIONS) <= set(names)
    assert missing_operations(docs) == []
    assert docs["events"]["models"]["ChannelDtmfReceived"]["properties"]["digit"]


async def test_served_base_path_is_the_doubles_own(double):
    async with aiohttp.ClientSession(headers=AUTH) as session:
        async with session.get(double.url + "/ari/api-docs/channels.json") as resp:
            doc = await resp.json()
        async with session.get(double.url + "/ari/asterisk/ping") as resp:
            ping = await resp.json()
    assert doc["basePath"] == double.url + "/ari"
    assert ping["asterisk_id"] == ASTERISK_ID
