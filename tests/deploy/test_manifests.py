"""deploy/k8s: every overlay renders and passes strict schema validation, and the manifests keep
the promises docs/deploy.md makes (probes, resources, GPUs, autoscaling, network policies,
secrets, Prometheus)."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from typing import Any

import pytest
import yaml

from marquee.serving.settings import ServerSettings
from tests.deploy import kustomize_lite
from tests.deploy.manifests import (
    CUSTOM_RESOURCES,
    K8S,
    KUBERNETES_VERSIONS,
    OVERLAYS,
    REPO_ROOT,
    SERVERS,
    by_kind,
    containers,
    identity,
    kubectl,
    load_yaml_file,
    pod_spec,
    render_overlay,
    render_with_kubectl,
    validate,
)

SECRET_ENV = {"OPENAI_API_KEY", "HF_TOKEN", "MARQUEE_AUTH_TOKEN"}
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def _servers(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    deployments = by_kind(resources, "Deployment")
    return {name: deployments[name] for name in SERVERS}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    return pod_spec(deployment)["containers"][0]


def _port(container: dict[str, Any], name: str) -> int:
    return next(p["containerPort"] for p in container["ports"] if p["name"] == name)


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_the_same_with_kubectl_and_the_python_renderer(overlay: str) -> None:
    directory = K8S / "overlays" / overlay
    lite = {identity(r): r for r in kustomize_lite.render(directory)}
    assert {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ConfigMap",
    } <= {kind for kind, _, _ in lite}
    if kubectl() is None:
        pytest.skip("kubectl not on PATH: the Python renderer alone renders the overlays")
    reference = {identity(r): r for r in render_with_kubectl(directory)}
    assert lite.keys() == reference.keys()
    for key, resource in reference.items():
        assert lite[key] == resource, key


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_passes_strict_validation(overlay: str, version: str) -> None:
    result = validate(render_overlay(overlay), version)
    assert result.errors == []
    # kubernetes-validate only warns on kinds it has no schema for: none may be left unexplained.
    unexplained = [kind for kind in result.no_schema if kind not in CUSTOM_RESOURCES]
    assert unexplained == []


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_examples_pass_strict_validation(version: str) -> None:
    for path in sorted((K8S / "examples").glob("*.yaml")):
        result = validate(load_yaml_file(path), version)
        assert result.errors == [], path
        assert result.no_schema == [], path


def test_strict_validation_catches_a_broken_manifest() -> None:
    """The check above can fail: a string probe port and an unknown field are both refused."""
    deployment = by_kind(render_overlay("cpu"), "Deployment")["recommender"]
    _container(deployment)["livenessProbe"]["grpc"]["port"] = "grpc"
    pod_spec(deployment)["nodeSelectr"] = {}
    errors = validate([deployment], "1.27").errors
    assert errors and ("port" in errors[0] or "nodeSelectr" in errors[0])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_servers_have_native_grpc_probes_on_integer_ports(overlay: str) -> None:
    resources = render_overlay(overlay)
    configs = by_kind(resources, "ConfigMap")
    for name, deployment in _servers(resources).items():
        container = _container(deployment)
        grpc_port = _port(container, "grpc")
        assert grpc_port == SERVERS[name]["port"]
        assert _port(container, "metrics") == SERVERS[name]["metrics"]
        # The port the server listens on (its ConfigMap) is the one probed.
        assert configs[f"{name}-config"]["data"]["MARQUEE_PORT"] == str(grpc_port)
        assert configs[f"{name}-config"]["data"]["MARQUEE_METRICS_PORT"] == str(SERVERS[name]["metrics"])
        for probe in PROBES:
            spec = container[probe]["grpc"]
            assert type(spec["port"]) is int and spec["port"] == grpc_port, (name, probe)
        assert container["readinessProbe"]["grpc"]["service"] == SERVERS[name]["service"]
    # Every other probe in the overlay (Triton's) also names an integer port.
    for deployment in by_kind(resources, "Deployment").values():
        for container in containers(deployment):
            for probe in PROBES:
                if probe in container:
                    action = next(v for k, v in container[probe].items() if k in ("grpc", "httpGet", "tcpSocket"))
                    assert type(action["port"]) is int, (deployment["metadata"]["name"], probe)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_limits_and_runs_unprivileged(overlay: str) -> None:
    for deployment in by_kind(render_overlay(overlay), "Deployment").values():
        spec = pod_spec(deployment)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        for container in containers(deployment):
            where = (deployment["metadata"]["name"], container["name"])
            for section in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][section]), where
            # Logs and writable volumes use node disk: the scheduler must count it.
            assert "ephemeral-storage" in container["resources"]["requests"], where
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, where
            image = container["image"]
            assert not image.endswith(":latest") and (":" in image.rsplit("/", 1)[-1] or "@sha256:" in image), where
        # Grace: the server's drain (MARQUEE_GRACE_PERIOD) ends before the kubelet's SIGKILL.
        if deployment["metadata"]["name"] in SERVERS:
            configs = by_kind(render_overlay(overlay), "ConfigMap")
            grace = 0.0
            for source in _container(deployment)["envFrom"]:
                grace = float(configs[source["configMapRef"]["name"]]["data"].get("MARQUEE_GRACE_PERIOD", grace))
            assert 0 < grace < spec["terminationGracePeriodSeconds"]


@pytest.mark.parametrize("overlay", ["gpu", "gpu-shared-cache"])
def test_gpu_overlays_put_render_pods_on_gpus(overlay: str) -> None:
    resources = render_overlay(overlay)
    render = by_kind(resources, "Deployment")["render"]
    spec = pod_spec(render)
    container = _container(render)
    assert container["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    config = by_kind(resources, "ConfigMap")["render-config"]["data"]
    assert config["MARQUEE_ENGINE"] == "creatilayout" and config["MARQUEE_DEVICE"] == "cuda"
    # A rollout replaces pods one by one: a surge pod would wait for a spare GPU forever.
    assert render["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    volume = next(v for v in spec["volumes"] if v["name"] == "hf-cache")
    claims = by_kind(resources, "PersistentVolumeClaim")
    if overlay == "gpu":
        # The safe default: a per-pod claim on the default class with the mode every class has.
        template = volume["ephemeral"]["volumeClaimTemplate"]["spec"]
        assert set(volume) == {"name", "ephemeral"} and "storageClassName" not in template
        assert template["accessModes"] == ["ReadWriteOnce"] and claims == {}
    else:
        # Shared: one ReadWriteMany claim on a class the operator names (never the default).
        assert volume == {"name": "hf-cache", "persistentVolumeClaim": {"claimName": "render-hf-cache"}}
        claim = claims["render-hf-cache"]["spec"]
        assert claim["accessModes"] == ["ReadWriteMany"] and claim["storageClassName"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "hf-cache")
    assert mount["mountPath"] == config["HF_HOME"]
    # Only the render pods want GPUs; the CPU overlay's render pods want none.
    for name, deployment in _servers(resources).items():
        if name != "render":
            assert "nvidia.com/gpu" not in str(deployment)
    assert "nvidia.com/gpu" not in str(by_kind(render_overlay("cpu"), "Deployment"))
    assert by_kind(render_overlay("cpu"), "ConfigMap")["render-config"]["data"]["MARQUEE_ENGINE"] == "draft"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_are_headless_and_select_their_pods(overlay: str) -> None:
    resources = render_overlay(overlay)
    deployments = by_kind(resources, "Deployment")
    for name, service in by_kind(resources, "Service").items():
        assert service["spec"]["clusterIP"] == "None", name
        pods = [
            d
            for d in deployments.values()
            if _matches(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
        ]
        assert [p["metadata"]["name"] for p in pods] == [name]
        port_names = {p["name"] for p in _container(pods[0])["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
        assert "grpc" in port_names and "metrics" in port_names


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscalers_and_disruption_budgets(overlay: str) -> None:
    resources = render_overlay(overlay)
    deployments = by_kind(resources, "Deployment")
    hpas = by_kind(resources, "HorizontalPodAutoscaler")
    for hpa in hpas.values():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
    recommender = hpas["recommender"]["spec"]["metrics"]
    assert recommender == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
    ]
    [render] = hpas["render"]["spec"]["metrics"]
    assert render["type"] == "Pods"
    assert render["pods"]["metric"]["name"] == "marquee_render_queue_depth"
    pdbs = by_kind(resources, "PodDisruptionBudget")
    assert set(deployments) <= set(pdbs)
    for name, pdb in pdbs.items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert _matches(pdb["spec"]["selector"]["matchLabels"], labels)
        # A budget of one pod that allows no disruption would block every node drain.
        if hpas[name]["spec"]["minReplicas"] == 1:
            assert pdb["spec"].get("maxUnavailable", 0) >= 1
    # The HPA owns the scale: `replicas` in a Deployment would reset it at every `kubectl apply -k`.
    for hpa in hpas.values():
        assert "replicas" not in deployments[hpa["spec"]["scaleTargetRef"]["name"]]["spec"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_namespace_enforces_the_restricted_pod_security_standard(overlay: str) -> None:
    [namespace] = by_kind(render_overlay(overlay), "Namespace").values()
    labels = namespace["metadata"]["labels"]
    for mode in ("enforce", "warn", "audit"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    # What `restricted` demands of every pod, so enforcing it admits Marquee's own pods.
    for deployment in by_kind(render_overlay(overlay), "Deployment").values():
        spec = pod_spec(deployment)
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        allowed = {
            "configMap",
            "csi",
            "downwardAPI",
            "emptyDir",
            "ephemeral",
            "persistentVolumeClaim",
            "projected",
            "secret",
        }
        for volume in spec.get("volumes", []):
            assert set(volume) - {"name"} <= allowed, volume
        for container in containers(deployment):
            context = container["securityContext"]
            assert context["capabilities"]["drop"] == ["ALL"], container["name"]
            assert context["allowPrivilegeEscalation"] is False


def test_render_autoscaling_metric_is_the_gauge_the_render_server_exports() -> None:
    """The HPA, the prometheus-adapter rule and the render server agree on one metric name."""
    name = (
        render_overlay("gpu")
        and by_kind(render_overlay("gpu"), "HorizontalPodAutoscaler")["render"]["spec"]["metrics"][0]["pods"]["metric"][
            "name"
        ]
    )
    metrics = importlib.import_module("render_server.metrics")
    gauge = metrics.QUEUE_DEPTH
    assert gauge._type == "gauge" and gauge._name == name
    adapter = yaml.safe_load((K8S / "monitoring" / "prometheus-adapter-values.yaml").read_text())
    [rule] = adapter["rules"]["custom"]
    assert rule["seriesQuery"].startswith(f"{name}{{") and rule["name"]["as"] == name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_admit_only_the_client_and_prometheus(overlay: str) -> None:
    resources = render_overlay(overlay)
    policies = by_kind(resources, "NetworkPolicy")
    servers = [
        d
        for d in by_kind(resources, "Deployment").values()
        if d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == "server"
    ]
    assert {d["metadata"]["name"] for d in servers} >= set(SERVERS)
    rules: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for policy in policies.values():
        spec = policy["spec"]
        assert spec["policyTypes"] == ["Ingress"]
        for deployment in servers:
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            assert _matches(spec["podSelector"]["matchLabels"], labels)
        for rule in spec.get("ingress", []):
            for peer in rule["from"]:
                rules.append((peer, rule["ports"]))
    assert "servers-default-deny-ingress" in policies
    assert not policies["servers-default-deny-ingress"]["spec"].get("ingress")
    client = {
        "podSelector": {
            "matchLabels": {"app.kubernetes.io/part-of": "marquee", "app.kubernetes.io/component": "client"}
        }
    }
    allowed = {yaml.safe_dump(peer): [p["port"] for p in ports] for peer, ports in rules}
    assert allowed[yaml.safe_dump(client)] == ["grpc"]
    prometheus = [ports for peer, ports in allowed.items() if "prometheus" in peer]
    assert prometheus == [["metrics"]]
    assert len(allowed) == 2
    # The named ports exist on every server container.
    for deployment in servers:
        names = {p["name"] for p in _container(deployment)["ports"]}
        assert {"grpc", "metrics"} <= names


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_inline(overlay: str) -> None:
    resources = render_overlay(overlay)
    assert by_kind(resources, "Secret") == {}
    examples = {r["metadata"]["name"]: r for r in load_yaml_file(K8S / "examples" / "secrets.example.yaml")}
    referenced: set[tuple[str, str]] = set()
    for deployment in by_kind(resources, "Deployment").values():
        for container in containers(deployment):
            for env in container.get("env", []):
                if env["name"] in SECRET_ENV:
                    assert "value" not in env, env
                    ref = env["valueFrom"]["secretKeyRef"]
                    assert ref["optional"] is True
                    referenced.add((ref["name"], ref["key"]))
    assert {
        ("marquee-openai", "OPENAI_API_KEY"),
        ("marquee-huggingface", "HF_TOKEN"),
        ("marquee-auth", "token"),
    } <= referenced
    for name, key in referenced:
        assert key in examples[name]["stringData"]
    # The example holds placeholders only, nothing shaped like a real key.
    for secret in examples.values():
        for value in secret["stringData"].values():
            assert value.startswith("<") and value.endswith(">"), value
    text = "\n".join(yaml.safe_dump(r) for r in resources)
    assert not re.search(r"\b(sk-[A-Za-z0-9]{8,}|hf_[A-Za-z0-9]{8,})", text)
    # ConfigMaps carry no secrets either.
    for config in by_kind(resources, "ConfigMap").values():
        assert not SECRET_ENV & set(config["data"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_maps_name_real_server_options(overlay: str) -> None:
    """Every MARQUEE_* variable a pod gets is an option of that server (a typo would be ignored
    by the server, silently)."""
    resources = render_overlay(overlay)
    configs = by_kind(resources, "ConfigMap")
    settings_classes = {
        "recommender": ("recommender_server.config", "RecommenderSettings"),
        "layout": ("layout_server.config", "LayoutSettings"),
        "render": ("render_server.config", "RenderSettings"),
    }
    for name, deployment in _servers(resources).items():
        module, cls = settings_classes[name]
        settings = getattr(importlib.import_module(module), cls)
        assert issubclass(settings, ServerSettings)
        options = {f"MARQUEE_{field.upper()}" for field in settings.model_fields}
        container = _container(deployment)
        names = [k for source in container["envFrom"] for k in configs[source["configMapRef"]["name"]]["data"]]
        names += [env["name"] for env in container.get("env", [])]
        unknown = [n for n in names if n.startswith("MARQUEE_") and n not in options]
        assert unknown == [], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_are_scraped_by_prometheus(overlay: str) -> None:
    for deployment in by_kind(render_overlay(overlay), "Deployment").values():
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        assert int(annotations["prometheus.io/port"]) == _port(_container(deployment), "metrics")


def test_pod_monitor() -> None:
    """The one custom resource (Prometheus Operator PodMonitor), listed in CUSTOM_RESOURCES:
    kubernetes-validate has no schema for it, so its fields are checked here."""
    [monitor] = load_yaml_file(K8S / "monitoring" / "podmonitor.yaml")
    assert (monitor["apiVersion"], monitor["kind"]) in CUSTOM_RESOURCES
    assert set(monitor) == {"apiVersion", "kind", "metadata", "spec"}
    spec = monitor["spec"]
    assert set(spec) == {"selector", "namespaceSelector", "podMetricsEndpoints"}
    assert spec["namespaceSelector"] == {"matchNames": ["marquee"]}
    servers = _servers(render_overlay("cpu"))
    for deployment in servers.values():
        assert _matches(spec["selector"]["matchLabels"], deployment["spec"]["template"]["metadata"]["labels"])
    for endpoint in spec["podMetricsEndpoints"]:
        assert set(endpoint) <= {"port", "path", "interval", "scheme", "scrapeTimeout"}
        assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
        assert re.fullmatch(r"\d+s", endpoint["interval"])
    # Standard metadata still validates against the Kubernetes ObjectMeta schema.
    carrier = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": monitor["metadata"]}
    assert validate([carrier], "1.37").errors == []


def test_triton_overlay_serves_the_same_model_repository() -> None:
    resources = render_overlay("triton")
    triton = by_kind(resources, "Deployment")["triton"]
    [init] = pod_spec(triton)["initContainers"]
    recommender_image = _container(by_kind(resources, "Deployment")["recommender"])["image"]
    assert init["image"] == recommender_image
    # The recommender image carries the repository at /models (deploy/docker/recommender.Dockerfile).
    dockerfile = (REPO_ROOT / "deploy" / "docker" / "recommender.Dockerfile").read_text()
    assert "/src/recommender_server/model_repository /models" in dockerfile
    assert init["command"][:2] == ["cp", "-R"] and init["command"][2].startswith("/models")
    container = _container(triton)
    assert "--model-repository=/models" in container["args"]
    mount = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mount["models"] == "/models"
    assert "nvcr.io/nvidia/tritonserver:" in container["image"]
    # The repository Triton gets is one Triton accepts: onnxruntime on CPU, like our server.
    repository = REPO_ROOT / "recommender_server" / "model_repository" / "sasrec"
    config = (repository / "config.pbtxt").read_text()
    assert 'platform: "onnxruntime_onnx"' in config and "KIND_CPU" in config
    assert (repository / "1" / "model.onnx").is_file()


def test_python_renderer_refuses_what_it_does_not_implement(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A kustomization that outgrows the renderer's subset fails instead of rendering wrongly."""
    (tmp_path / "kustomization.yaml").write_text(
        "resources: []\nconfigMapGenerator:\n  - name: x\n    literals: [a=b]\n"
    )
    with pytest.raises(kustomize_lite.KustomizeError, match="configMapGenerator"):
        kustomize_lite.render(tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        "resources: []\npatches:\n  - target: {kind: Deployment}\n    patch: '[]'\n"
    )
    with pytest.raises(kustomize_lite.KustomizeError, match="patches"):
        kustomize_lite.render(tmp_path)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_kubernetes_validate_cli_passes_every_overlay_without_warnings(version: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same check as the library calls above, through the command line an operator would run
    (`kubernetes-validate --strict`), which exits 0 on a missing schema: so no WARN line either."""
    files = []
    for overlay in OVERLAYS:
        path = tmp_path / f"{overlay}.yaml"
        path.write_text(yaml.safe_dump_all(render_overlay(overlay)))
        files.append(str(path))
    result = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", "-k", f"{version}.0", *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARN" not in result.stdout and "ERROR" not in result.stdout, result.stdout
