# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Publish built datasets and checkpoints to the Hub: private by default, MIMIC-derived ones private and gated.

A guard runs before anything is uploaded and refuses, with a one-line :class:`~ehr_r1.errors.EhrR1Error`:

- MIMIC-derived data or weights (``ehr_r1.provenance``: synthetic only when verified) to a public repo, or to an
  existing repo (``repo_info`` first) that is public or not gated with manual approval;
- a synthetic-only repo that exists and is public when a private push was asked for;
- a dataset whose patient-disjointness check failed or is missing, or whose card lacks the DUA gate or claims
  ``synthetic`` without the verified provenance;
- a missing token, or one that cannot write to the repo's namespace (``whoami`` first);
- a model folder that is not a checkpoint, and a ``results.json`` of another model or bench.

New repos for derived folders are gated with ``update_repo_settings(gated="manual")`` and checked before the upload.
The token is never logged, written into cards or uploaded (files holding it are refused).
"""

import json
import logging
from pathlib import Path

import yaml

from ehr_r1 import layout, provenance
from ehr_r1.cards import MIMIC_GATE, front_matter
from ehr_r1.errors import EhrR1Error, InputError
from ehr_r1.manifest import file_sha256


logger = logging.getLogger(__name__)

WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
# Trainer checkpoint files that are not the model (training_args.bin pickles the arguments, hub_token included)
NOT_UPLOADED = ("training_args.bin", "optimizer.pt", "scheduler.pt", "scaler.pt", "rng_state*.pth", "global_step*",
                "checkpoint-*")  # fmt: skip
MODEL_GATE = MIMIC_GATE | {
    "extra_gated_prompt": (
        "This model was trained on data derived from MIMIC-IV. You must hold active PhysioNet credentialed access and "
        "have signed the MIMIC-IV data use agreement. You agree not to attempt to extract or re-identify training "
        "data and not to use the model for clinical decisions."
    )
}
_TEXT_SUFFIXES = (".json", ".md", ".txt", ".jinja", ".yaml", ".yml", ".jsonl")


# ------------------------------------------------------------------------------------------------------ the guard


def _refuse(where: object, message: str) -> EhrR1Error:
    return EhrR1Error(f"{where}: {message}; nothing was uploaded")


def check_disjointness(folder: Path, manifest: dict) -> None:
    """The build's patient-disjointness record must say the split was verified and no patient overlaps."""
    record = manifest.get("disjointness")
    if not isinstance(record, dict) or record.get("split_verified") is not True:
        raise _refuse(folder / layout.MANIFEST, "the patient-disjointness check is missing or failed")
    if record.get("overlap", 0) != 0:
        raise _refuse(
            folder / layout.MANIFEST, f"shares {record['overlap']} patients with {record.get('checked_against')}"
        )


def check_dataset_card(folder: Path, meta: dict, derived: bool) -> None:
    """A derived dataset's card carries the DUA gate and no ``synthetic`` claim."""
    if not derived:
        return
    card = folder / layout.CARD
    if "synthetic" in (meta.get("tags") or []):
        raise _refuse(card, "tagged synthetic, but the build's inputs are not verified synth-mimic output")
    missing = [k for k in ("gated", *MIMIC_GATE) if not meta.get(k)]
    if missing:
        raise _refuse(
            card, f"card of real patient data without the DUA gate ({', '.join(missing)}); rebuild it with ehr-r1"
        )


def check_visibility(folder: Path, derived: bool, private: bool) -> None:
    if derived and not private:
        raise _refuse(
            folder,
            "derived from real patient data (MIMIC-IV or another source; not verified synthetic) and cannot go to "
            "a public repo; drop --public",
        )


def check_checkpoint(folder: Path) -> str:
    """``"adapter"`` (PEFT) or ``"model"`` (full weights); a one-line error for anything else."""
    if not folder.is_dir():
        raise EhrR1Error(f"{folder}: not a checkpoint folder (not found)")
    for config, weights, kind in (
        ("adapter_config.json", ADAPTER_WEIGHTS, "adapter"),
        ("config.json", WEIGHTS, "model"),
    ):
        if not (folder / config).is_file():
            continue
        try:
            json.loads((folder / config).read_text())
        except ValueError:
            raise InputError(folder / config, "malformed JSON") from None
        found = [w for w in weights if (folder / w).is_file()]
        if not found:
            raise EhrR1Error(f"{folder}: not a checkpoint: {config} without weights ({' or '.join(weights)})")
        if found[0].endswith(".index.json"):
            shards = set(json.loads((folder / found[0]).read_text()).get("weight_map", {}).values())
            if missing := sorted(s for s in shards if not (folder / s).is_file()):
                raise EhrR1Error(f"{folder}: not a checkpoint: weight shard {missing[0]} missing")
        return kind
    raise EhrR1Error(
        f"{folder}: not a checkpoint (expected config.json + model.safetensors, or adapter_config.json + "
        "adapter_model.safetensors)"
    )


def _weights_digest(folder: Path) -> list[str]:
    names = [n for n in (*WEIGHTS, *ADAPTER_WEIGHTS) if (folder / n).is_file() and not n.endswith(".json")]
    return [file_sha256(folder / n) for n in names]


def _same_model(model: object, folder: Path, repo_id: str) -> bool:
    if not isinstance(model, str) or not model:
        return False
    if model == repo_id:
        return True
    path = Path(model)
    if not path.is_dir():
        return False
    if path.resolve() == folder.resolve():
        return True
    mine = _weights_digest(folder)
    return bool(mine) and mine == _weights_digest(path)


def _card_fingerprints(meta: dict) -> set[str]:
    """Bench fingerprints a model card already reports (``model-index`` dataset revisions, ``*fingerprint`` keys)."""
    found: set[str] = set()

    def walk(node, key=None):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in ("bench_fingerprint", "fingerprint", "revision"):
            found.add(node)

    walk(meta.get("model-index") or [])
    walk({k: v for k, v in meta.items() if "fingerprint" in k})
    return found


def load_results(path: str | Path, folder: Path, repo_id: str, training: list[str]) -> dict:
    """An ``ehr-r1 eval`` results.json that scores this model on a bench other than its training data."""
    path = Path(path)
    try:
        results = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, "results file not found") from None
    except ValueError as err:
        raise InputError(path, f"malformed JSON: {err}") from None
    bench = results.get("bench") if isinstance(results, dict) else None
    if not isinstance(bench, dict) or not bench.get("fingerprint") or not isinstance(results.get("tasks"), dict):
        raise InputError(path, "not an `ehr-r1 eval` results.json (no bench fingerprint or tasks)")
    if results.get("baseline"):
        raise _refuse(path, f"scores the {results['baseline']} baseline, not this model")
    if not _same_model(results.get("model"), folder, repo_id):
        raise _refuse(path, f"scores model {results.get('model')!r}, not {folder} or {repo_id}")
    fingerprint = bench["fingerprint"]
    bench_dir = Path(bench.get("path") or "")
    if (
        bench.get("path")
        and bench_dir.is_dir()
        and provenance.dataset_fingerprint(bench_dir) not in (None, fingerprint)
    ):
        raise _refuse(path, f"bench {bench_dir} changed since it was scored (fingerprint {fingerprint})")
    card = folder / layout.CARD
    reported = _card_fingerprints(layout.read_card_metadata(card)) if card.is_file() else set()
    if reported and fingerprint not in reported:
        raise _refuse(
            path, f"from another bench (fingerprint {fingerprint}; the model card reports {sorted(reported)})"
        )
    if fingerprint in {provenance.dataset_fingerprint(d) for d in training if Path(d).is_dir()}:
        raise _refuse(path, "scores the model on its own training data")
    return results


# -------------------------------------------------------------------------------------------------- the Hub side


def _hub_error(err: Exception, where: str) -> EhrR1Error:
    response = getattr(err, "response", None)
    status = f"HTTP {response.status_code}" if response is not None else type(err).__name__
    return EhrR1Error(f"{where}: the Hub refused ({status}: {str(err).splitlines()[0]})")


def make_api(token: str | None = None, endpoint: str | None = None):
    """An ``HfApi`` with the token from the argument, ``HF_TOKEN`` or ``hf auth login``; refuses without one."""
    from huggingface_hub import HfApi, constants, get_token

    if constants.HF_HUB_OFFLINE:
        raise EhrR1Error("HF_HUB_OFFLINE is set: unset it to push to the Hub; nothing was uploaded")
    token = token or get_token()
    if not token:
        raise EhrR1Error("no Hugging Face token: set HF_TOKEN or run `hf auth login`; nothing was uploaded")
    return HfApi(endpoint=endpoint, token=token)


def check_write(api, repo_id: str) -> str:
    """``whoami``: the token must have write access to the repo's namespace. Returns ``namespace/name``."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        me = api.whoami()
    except HfHubHTTPError as err:
        raise _hub_error(err, f"{api.endpoint} (whoami)") from None
    user, orgs = me.get("name"), [o.get("name") for o in me.get("orgs") or []]
    access = (me.get("auth") or {}).get("accessToken") or {}
    role = access.get("role")
    namespace, _, name = repo_id.rpartition("/")
    namespace = namespace or user
    if role == "fineGrained":
        scoped = (access.get("fineGrained") or {}).get("scoped") or []
        allowed = any(
            (s.get("entity") or {}).get("name") == namespace and "repo.write" in (s.get("permissions") or [])
            for s in scoped
        )
    else:
        allowed = role in ("write", "admin") and namespace in (user, *orgs)
    if not allowed:
        raise _refuse(f"{namespace}/{name}", f"the token ({role or 'unknown'} access, user {user}) cannot write here")
    return f"{namespace}/{name}"


def _check_existing(info, repo_id: str, derived: bool, private: bool) -> None:
    if derived and not info.private:
        raise _refuse(
            repo_id, "exists and is public; files derived from real patient data go only to a private, gated repo"
        )
    if derived and info.gated != "manual":
        raise _refuse(repo_id, f"exists but is not gated with manual approval (gated={info.gated!r})")
    if private and not info.private:
        raise _refuse(repo_id, "exists and is public; pass --public to push into it")


def _is_empty(info) -> bool:
    return all(s.rfilename == ".gitattributes" for s in info.siblings or [])


def _gate(api, repo_id: str, repo_type: str) -> None:
    api.update_repo_settings(repo_id, gated="manual", repo_type=repo_type)
    info = api.repo_info(repo_id, repo_type=repo_type)
    if not (info.private and info.gated == "manual"):
        raise _refuse(repo_id, f"the Hub did not gate the repo (private={info.private}, gated={info.gated})")


def ensure_repo(
    api,
    repo_id: str,
    repo_type: str,
    *,
    derived: bool,
    private: bool,
    adopt_empty: bool = False,
    check_only: bool = False,
) -> str:
    """Create the repo (private unless asked otherwise; gated ``manual`` when derived) or check the existing one
    (``repo_info`` first: refused if it is public, or ungated when derived). Returns the repo id.

    ``adopt_empty``: gate an existing private repo that holds no file yet instead of refusing it (the Trainer creates
    the run's repo when it starts, before the push callback can). ``check_only``: refuse as above, change nothing."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    if derived and not private:
        raise _refuse(repo_id, "files derived from real patient data cannot go to a public repo")
    try:
        try:
            info = api.repo_info(repo_id, repo_type=repo_type)
        except RepositoryNotFoundError:
            info = None
        if (
            info is not None
            and adopt_empty
            and derived
            and info.private
            and _is_empty(info)
            and info.gated != "manual"
        ):
            _gate(api, info.id, repo_type)
            return info.id
        if info is not None:
            _check_existing(info, repo_id, derived, private)
            return info.id
        if check_only:
            return repo_id
        repo_id = api.create_repo(repo_id, repo_type=repo_type, private=private).repo_id
        if derived:
            _gate(api, repo_id, repo_type)
    except HfHubHTTPError as err:
        raise _hub_error(err, repo_id) from None
    logger.info(
        "created %s repo %s (private=%s, gated=%s)", repo_type, repo_id, private, "manual" if derived else False
    )
    return repo_id


def _upload_files(folder: Path, skip: tuple[str, ...]) -> list[Path]:
    from fnmatch import fnmatch

    files = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or any(p.startswith(".") for p in rel.parts):
            continue
        if any(fnmatch(part, pattern) for part in rel.parts for pattern in skip):  # at any depth
            continue
        files.append(path)
    return files


def _check_no_token(token: str, files: list[Path], card: str | None = None) -> None:
    if card is not None and token in card:
        raise _refuse("README.md", "the model card contains your Hub token")
    for path in files:
        if path.suffix in _TEXT_SUFFIXES and path.stat().st_size < (8 << 20) and token.encode() in path.read_bytes():
            raise _refuse(path, "contains your Hub token")


def _commit(api, repo_id: str, repo_type: str, files: list[Path], folder: Path, message: str, **kwargs) -> str:
    from huggingface_hub import CommitOperationAdd
    from huggingface_hub.errors import HfHubHTTPError

    extra = kwargs.pop("extra", {})
    operations = [CommitOperationAdd(str(p.relative_to(folder)), str(p)) for p in files]
    operations += [CommitOperationAdd(name, data) for name, data in extra.items()]
    try:
        info = api.create_commit(repo_id, operations, commit_message=message, repo_type=repo_type, **kwargs)
    except HfHubHTTPError as err:
        raise EhrR1Error(f"{repo_id}: upload failed ({str(err).splitlines()[0]})") from None
    return info.commit_url


# --------------------------------------------------------------------------------------------------- datasets


def push_dataset(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = True,
    token: str | None = None,
    endpoint: str | None = None,
    check_only: bool = False,
) -> str:
    """Upload a built dataset folder to the dataset repo ``repo_id`` after the guard; returns the commit URL.

    ``check_only``: run the whole guard (token, repo, card, provenance) and return ``""``, creating and uploading
    nothing (to check several pushes before the first one)."""
    folder = Path(folder)
    manifest = layout.read_manifest(folder)
    check_disjointness(folder, manifest)
    derived = not provenance.dataset_is_synthetic(folder)
    check_dataset_card(folder, layout.read_card_metadata(folder), derived)
    check_visibility(folder, derived, private)
    files = _upload_files(folder, ())
    api = make_api(token, endpoint)
    _check_no_token(api.token, files)
    repo_id = ensure_repo(
        api, check_write(api, repo_id), "dataset", derived=derived, private=private, check_only=check_only
    )
    if check_only:
        return ""
    counts = manifest.get("counts") or {}
    name = layout.read_card_metadata(folder).get("pretty_name", folder.name)
    message = f"Upload {name} ({sum(counts.values())} samples, {len(counts)} tasks)"
    url = _commit(api, repo_id, "dataset", files, folder, message)
    logger.info("pushed %s to %s (private=%s, gated=%s)", folder, repo_id, private, "manual" if derived else False)
    return url


# ----------------------------------------------------------------------------------------------------- models


def _front_matter(text: str) -> tuple[dict, str]:
    front, body = layout.split_front_matter(text)
    meta = yaml.safe_load(front) if front else {}
    return (meta if isinstance(meta, dict) else {}), body


def model_card_text(folder: Path, results: dict | None, derived: bool) -> str:
    """The README uploaded with a checkpoint: ``ehr_r1.model_card``'s card with the eval results; derived models get
    the DUA gate fields when the card lacks them."""
    from ehr_r1.model_card import render_model_card

    meta, body = _front_matter(str(render_model_card(folder, results=results)))
    if derived:  # provenance here is verified; a card rendered from a trusted record may claim less
        meta["tags"] = [t for t in meta.get("tags") or [] if t != "synthetic"]
        if meta.get("license") != "other":
            meta.update({k: v for k, v in front_matter("", [], 0, False).items() if k.startswith("license")})
        for key, value in MODEL_GATE.items():
            meta.setdefault(key, value)
    return layout.card_text(meta, body)


def push_model(
    folder: str | Path,
    repo_id: str,
    *,
    revision: str | None = None,
    results: str | Path | None = None,
    private: bool = True,
    token: str | None = None,
    endpoint: str | None = None,
    check_only: bool = False,
) -> str:
    """Upload a checkpoint (full weights or a PEFT adapter) to ``repo_id`` (on branch ``revision``) with its model
    card, after the guard; returns the commit URL (``check_only``: as in `push_dataset`)."""
    folder = Path(folder)
    kind = check_checkpoint(folder)
    origin = provenance.model_provenance(folder)
    derived = origin["derived"]
    scores = load_results(results, folder, repo_id, origin["datasets"]) if results else None
    check_visibility(folder, derived, private)
    card = model_card_text(folder, scores, derived)
    files = _upload_files(folder, (*NOT_UPLOADED, layout.CARD))
    api = make_api(token, endpoint)
    _check_no_token(api.token, files, card)
    repo_id = check_write(api, repo_id)
    repo_id = ensure_repo(api, repo_id, "model", derived=derived, private=private, check_only=check_only)
    if check_only:
        return ""
    if revision and revision != "main":
        from huggingface_hub.errors import HfHubHTTPError

        try:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        except HfHubHTTPError as err:
            raise _hub_error(err, f"{repo_id}@{revision}") from None
    message = f"Upload {kind} {folder.name} ({len(files)} files)"
    extra = {layout.CARD: card.encode()}
    url = _commit(api, repo_id, "model", files, folder, message, revision=revision, extra=extra)
    logger.info("pushed %s %s to %s@%s (%s)", kind, folder, repo_id, revision or "main", origin["reason"])
    return url
