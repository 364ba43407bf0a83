#!/usr/bin/env python3
"""Model-based checker: random sequences of modelkeep commands, invariants after every step.

Each sequence starts from an empty store and a small adapter, then runs random steps (create,
backup in each format, verify full/quick/subset, damage to a version, a backup or a restic pack,
cleanup, delete, gc, promote, rollback, A/B create/start/conclude, restore, push, offsite
verify, forget, repair). The checker keeps its own record of what every version and backup
must contain (hashed by this script, not read from the tool's manifests) and after every step
checks the trust invariants:

  I1 verified means intact: a full verification reports a version or backup good exactly when
     its content is intact; a quick check never reports good a backup whose record says failed
     and never upgrades a failed record.
  I2 a failure stands: a backup whose damage a full check saw is not recorded verified until a
     full check finds it intact again.
  I3 nothing lost unless told: every content (file SHA-256) with an intact copy on the machine
     before a step still has one after it, except content of backups that a `cleanup --execute`
     listed for deletion.
  I4 cleanup keeps an intact copy: after `cleanup --execute`, every source that had an intact
     backup recorded verified still has one (when no backup of it has damage no check saw yet:
     the tool cannot know of that).
  I5 references resolve: latest and every stage link point at a version directory, and every
     draft or running A/B test's variants exist.
  I6 forgotten stays forgotten: a push never sends again a backup whose remote copy was forgotten.

Usage: modelcheck.py --build DIR [--sequences N] [--steps N] [--seed S] [--jobs N] [--offsite P]
                     [--without STEP,...]
A failure prints the seed and sequence number; `--seed S --only K` replays that sequence.
"""

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


class Violation(Exception):
    pass


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def flip_byte(path, rng):
    size = path.stat().st_size
    if size == 0:
        return False
    offset = rng.randrange(size)
    with open(path, "r+b") as f:
        f.seek(offset)
        old = f.read(1)
        f.seek(offset)
        f.write(bytes([(old[0] + 1) % 256]))
    return True


class Sequence:
    """One random sequence in its own directory; `self.log` records every step for a replay."""

    def __init__(self, build, work, rng, steps, offsite, without=(), inject=None):
        self.mv = str(Path(build) / "versioner" / "model-versioner")
        self.bm = str(Path(build) / "backup" / "backup-manager")
        self.work = Path(work)
        self.rng = rng
        self.steps = steps
        self.root = self.work / "models"
        self.adapter = self.work / "adapter"
        self.env = dict(os.environ, MODELKEEP_ROOT=str(self.root), MODELKEEP_LOCK_TIMEOUT="5")
        self.env.pop("MODELKEEP_FAILPOINT", None)
        self.log = []
        self.checks = 0
        self.calls = 0
        # What each version and backup must hold, as this script hashed it.
        self.versions = {}  # directory name -> {relative path: sha}
        self.backups = {}  # backup directory (str) -> dict(format, content, archive_sha, seen_damage)
        self.unseen_damage = set()  # backups damaged since the last full check that covered them
        self.forgotten = set()  # backup directories whose remote copy was forgotten
        self.offsite = offsite
        self.repo_damaged = False
        self.tests = {}  # A/B test id -> state the checker expects ("draft", "running", "concluded")
        self.archive_cache = {}
        self.without = set(without)
        self.inject = inject
        if offsite:
            self.setup_offsite()
        self.adapter.mkdir()
        (self.adapter / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 4}\n')
        (self.adapter / "adapter_model.safetensors").write_bytes(rng.randbytes(3000))

    # ---- running the tools ----

    def run(self, tool, *args, expect=None):
        argv = [tool, *args]
        self.calls += 1
        proc = subprocess.run(argv, cwd=self.work, env=self.env, capture_output=True, text=True, timeout=600)
        self.log.append(" ".join(a if " " not in a else repr(a) for a in argv[1:]) + f"  -> {proc.returncode}")
        if expect is not None and proc.returncode not in expect:
            raise Violation(f"{Path(tool).name} {' '.join(args)} exited {proc.returncode}, expected {expect}:\n"
                            f"{proc.stdout}{proc.stderr}")
        return proc

    def json_of(self, proc):
        try:
            return json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise Violation(f"not one JSON document (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")

    def setup_offsite(self):
        repo = self.work / "repo"
        pw = self.work / "pw"
        pw.write_text("modelcheck\n")
        self.env["RESTIC_REPOSITORY"] = str(repo)
        self.env["RESTIC_PASSWORD_FILE"] = str(pw)
        subprocess.run(["restic", "init", "-q"], env=self.env, check=True, capture_output=True)

    # ---- what is on disk, judged by this script ----

    def version_dirs(self):
        d = self.root / "versions"
        if not d.is_dir():
            return []
        return sorted(p.name for p in d.iterdir() if p.is_dir() and not p.is_symlink() and p.name.startswith("v"))

    def version_intact(self, name):
        d = self.root / "versions" / name / "adapter"
        for rel, sha in self.versions[name].items():
            p = d / rel
            if not p.is_file() or sha256_file(p) != sha:
                return False
        return True

    def backup_intact(self, path):
        b = self.backups[path]
        p = Path(path)
        if b["format"] == "dir":
            for rel, sha in b["content"].items():
                f = p / "data" / rel
                if not f.is_file() or sha256_file(f) != sha:
                    return False
            return True
        archive = p / ("data.tar" if b["format"] == "tar" else "data.tar.zst")
        return archive.is_file() and self.archive_content(archive) == b["content"]

    def archive_content(self, archive):
        """{path: sha} of the files in an archive as tar reads it (None if it cannot be read):
        a flipped byte in padding leaves the content intact, one in a header or data does not."""
        key = sha256_file(archive)
        if key not in self.archive_cache:
            data = archive.read_bytes()
            if archive.suffix == ".zst":
                proc = subprocess.run(["zstd", "-dcq"], input=data, capture_output=True)
                data = proc.stdout if proc.returncode == 0 else None
            content = None
            if data is not None:
                try:
                    content = {}
                    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
                        for member in tar:
                            if member.isfile():
                                content[member.name] = hashlib.sha256(tar.extractfile(member).read()).hexdigest()
                except (tarfile.TarError, OSError, EOFError):
                    content = None
            self.archive_cache[key] = content
        return self.archive_cache[key]

    def backup_record(self, path):
        """The recorded verification ({"state": ...}); a 0.1 record says "result" instead."""
        try:
            record = json.loads((Path(path) / "backup.json").read_text()).get("verification", {})
        except FileNotFoundError:
            return None
        if "state" not in record and "result" in record:
            record = dict(record, state=record["result"])
        return record

    def live_backups(self):
        return [p for p in self.backups if Path(p).is_dir()]

    def alive(self):
        """Every content SHA-256 with an intact copy on this machine, and where one is: any file
        under the root (versions, backups the tools made on their own, stored objects) hashes to
        what it is; an archive counts for its content while it is byte for byte as written."""
        found = {}
        hashed = {}
        archives = {"data.tar", "data.tar.zst"}
        for dirpath, _, files in os.walk(self.root):
            for name in files:
                p = Path(dirpath) / name
                if name in archives or p.is_symlink() or not p.is_file():
                    continue
                st = p.stat()
                key = (st.st_dev, st.st_ino)
                if key not in hashed:
                    hashed[key] = sha256_file(p)
                found.setdefault(hashed[key], str(p.relative_to(self.root)))
        for path in self.live_backups():
            b = self.backups[path]
            if b["format"] != "dir" and self.backup_intact(path):
                for sha in b["content"].values():
                    found.setdefault(sha, path)
        return found

    def adapter_content(self):
        return {str(p.relative_to(self.adapter)): sha256_file(p) for p in sorted(self.adapter.rglob("*")) if p.is_file()}

    # ---- steps ----

    def change_adapter(self):
        r = self.rng.random()
        weights = self.adapter / "adapter_model.safetensors"
        if r < 0.6 or not weights.is_file():
            with open(weights, "ab") as f:
                f.write(self.rng.randbytes(self.rng.randrange(1, 500)))
        elif r < 0.8:
            (self.adapter / f"extra_{self.rng.randrange(4)}.bin").write_bytes(self.rng.randbytes(200))
        else:
            (self.adapter / "adapter_config.json").write_text(
                '{"peft_type": "LORA", "r": %d}\n' % self.rng.randrange(1, 64))
            with open(weights, "ab") as f:  # never the content of an earlier version
                f.write(self.rng.randbytes(1))

    def step_create(self):
        self.change_adapter()
        content = self.adapter_content()
        before = set(self.version_dirs())
        metric = "%.3f" % self.rng.random()
        proc = self.run(self.mv, "create", "--adapter", "adapter", "--description", "step",
                        "--metric", f"f1_score={metric}", "-q", expect=(0,))
        new = set(self.version_dirs()) - before
        if len(new) != 1:
            raise Violation(f"create made {len(new)} version directories: {proc.stdout}")
        self.versions[new.pop()] = content

    def step_backup(self):
        if self.rng.random() < 0.5:
            self.change_adapter()
        fmt = self.rng.choice(["dir", "tar", "tar.zst"])
        content = self.adapter_content()
        proc = self.run(self.bm, "backup", "adapter", "--format", fmt, "-q", expect=(0,))
        path = proc.stdout.strip().splitlines()[-1]
        archive_sha = None
        if fmt != "dir":
            archive_sha = sha256_file(Path(path) / ("data.tar" if fmt == "tar" else "data.tar.zst"))
        self.backups[path] = {"format": fmt, "content": content, "archive_sha": archive_sha, "source": "adapter"}

    def step_damage(self):
        targets = []
        for name in self.version_dirs():
            if name in self.versions:
                for rel in self.versions[name]:
                    targets.append(("version", name, self.root / "versions" / name / "adapter" / rel))
        for path in self.live_backups():
            b = self.backups[path]
            if b["format"] == "dir":
                for rel in b["content"]:
                    targets.append(("backup", path, Path(path) / "data" / rel))
            else:
                targets.append(("backup", path, Path(path) / ("data.tar" if b["format"] == "tar" else "data.tar.zst")))
        if self.offsite and (self.work / "repo" / "data").is_dir():
            packs = [p for p in (self.work / "repo" / "data").rglob("*") if p.is_file()]
            if packs:
                targets.append(("pack", None, self.rng.choice(packs)))
        if not targets:
            return
        kind, owner, path = self.rng.choice(targets)
        if not path.is_file() or not flip_byte(path, self.rng):
            return
        self.log.append(f"# damage {kind} {path.relative_to(self.work)}")
        if kind == "pack":
            self.repo_damaged = True
        # A damaged version file may be shared with other versions and backups (hard links).
        for p in self.live_backups():
            if not self.backup_intact(p):
                self.unseen_damage.add(p)

    def step_verify_versions(self):
        if not self.version_dirs():
            return
        proc = self.run(self.mv, "verify", "--json", expect=(0, 1))
        doc = self.json_of(proc)
        for item in doc["versions"]:
            name = item["name"]
            if name not in self.versions:
                continue
            self.checks += 1
            truth = self.version_intact(name)
            if item["ok"] != truth:
                raise Violation(f"I1: verify reported {name} ok={item['ok']} but its content is "
                                f"{'intact' if truth else 'damaged'}")

    def step_verify_backups(self):
        live = self.live_backups()
        if not live:
            return
        mode = self.rng.choice(["full", "full", "quick", "subset"])
        before = {p: (self.backup_record(p) or {}).get("state") for p in live}
        args = ["verify", "--all", "--json"]
        if mode == "quick":
            args.append("--quick")
        elif mode == "subset":
            args += ["--subset", "1/%d" % self.rng.randrange(1, 3)]
        proc = self.run(self.bm, *args, expect=(0, 1, 3))
        if proc.returncode == 3:
            return
        if self.inject == "launder":
            self.launder()
        doc = self.json_of(proc)
        by_path = {}
        for p in live:
            by_path[Path(p).parent.name + "/" + Path(p).name] = p
        for item in doc["backups"]:
            p = by_path.get(item["id"])
            if p is None:
                continue
            self.checks += 1
            truth = self.backup_intact(p)
            depth = item.get("depth", "quick" if mode == "quick" else "full")
            state = item.get("state", (self.backup_record(p) or {}).get("state"))
            b = self.backups[p]
            if depth == "full" and b["format"] != "dir" and truth:
                # An archive whose bytes changed where tar readers disagree (a header field one
                # reader checks and another ignores) may be called damaged or intact; one whose
                # bytes are as written must be called intact, and damaged content damaged.
                archive = Path(p) / ("data.tar" if b["format"] == "tar" else "data.tar.zst")
                if not item["ok"] and sha256_file(archive) == b["archive_sha"]:
                    raise Violation(f"I1: full verify reported {item['id']} damaged, but its archive is as written")
                self.unseen_damage.discard(p)
            elif depth == "full":
                if item["ok"] != truth:
                    raise Violation(f"I1: full verify reported {item['id']} ok={item['ok']}, content "
                                    f"{'intact' if truth else 'damaged'}")
                self.unseen_damage.discard(p)
            else:
                if item["ok"] and before[p] == "failed":
                    raise Violation(f"I1: a quick check reported {item['id']} good after a failed full check")
                if before[p] == "failed" and state != "failed":
                    raise Violation(f"I1: a quick check upgraded {item['id']} from failed to {state}")

    def launder(self):
        """The fault --inject launder plants, to show the checker sees it: every failed record
        rewritten as verified (what a quick check did before failures were made to stand)."""
        for p in self.live_backups():
            record = Path(p) / "backup.json"
            doc = json.loads(record.read_text())
            if doc.get("verification", {}).get("state") == "failed":
                doc["verification"]["state"] = "verified"
                os.chmod(record, 0o644)
                record.write_text(json.dumps(doc))

    def step_cleanup(self):
        keep = self.rng.randrange(1, 3)
        args = ["cleanup", "--keep-last", str(keep), "--execute", "--json"]
        if self.offsite and self.rng.random() < 0.5:
            args.append("--require-offsite")
        proc = self.run(self.bm, *args, expect=(0, 1, 3))
        if proc.returncode == 3:
            return set()
        doc = self.json_of(proc)
        deleted = set()
        for item in doc.get("backups", []):
            if item["action"] == "delete":
                deleted.add(item["id"])
        return deleted

    def versions_by_number(self):
        return [n for n in self.version_dirs() if n in self.versions]

    def step_delete(self):
        names = self.versions_by_number()
        if not names:
            return
        self.run(self.mv, "delete", self.rng.choice(names), "--confirm", "-q", expect=(0, 1, 4))

    def step_gc(self):
        self.run(self.mv, "gc", "--keep", str(self.rng.randrange(1, 4)), "--execute", "-q", expect=(0, 1, 4))

    def step_promote(self):
        names = self.versions_by_number()
        if not names:
            return
        stage = self.rng.choice(["production", "staging"])
        self.run(self.mv, "promote", self.rng.choice(names), "--stage", stage, "-q", expect=(0, 1, 4))

    def step_rollback(self):
        self.run(self.mv, "rollback", "-q", expect=(0, 1, 3, 4))

    def step_ab(self):
        names = self.versions_by_number()
        r = self.rng.random()
        drafts = [t for t, s in self.tests.items() if s == "draft"]
        running = [t for t, s in self.tests.items() if s == "running"]
        if r < 0.4 and len(names) >= 2:
            test = f"t{len(self.tests)}"
            a, b = self.rng.sample(names, 2)
            proc = self.run(self.mv, "ab", "create", test, "--control", a, "--treatment", b, "-q", expect=(0, 1, 4))
            if proc.returncode == 0:
                self.tests[test] = "draft"
        elif r < 0.7 and drafts:
            test = self.rng.choice(drafts)
            if self.run(self.mv, "ab", "start", test, "-q", expect=(0, 1, 3, 4)).returncode == 0:
                self.tests[test] = "running"
        elif running:
            test = self.rng.choice(running)
            args = ["ab", "conclude", test, "-q"]
            if self.rng.random() < 0.5:
                args.append("--promote-winner")
            if self.run(self.mv, *args, expect=(0, 1, 3, 4)).returncode == 0:
                self.tests[test] = "concluded"

    def step_restore(self):
        names = self.versions_by_number()
        if not names:
            return
        self.run(self.mv, "restore", self.rng.choice(names), "--to", "adapter", "-q", expect=(0, 1, 4))

    def step_repair(self):
        if self.rng.random() < 0.6:
            if self.version_dirs():
                self.run(self.mv, "repair", "--no-remote", "-q", expect=(0, 1))
        else:
            dirs = [p for p in self.live_backups() if self.backups[p]["format"] == "dir"]
            if dirs:
                p = self.rng.choice(dirs)
                proc = self.run(self.bm, "repair", p, "-q", expect=(0, 1))
                self.unseen_damage.discard(p)  # a repair ends with a full check
                if proc.returncode == 0 and not self.backup_intact(p):
                    raise Violation(f"I1: repair reported {p} verified but it is damaged")

    def step_push(self):
        if not self.live_backups():
            return
        before = self.remote_backups()
        self.run(self.bm, "push", "--all", "-q", expect=(0, 1, 4))
        again = (self.remote_backups() - before) & self.forgotten
        if again:
            raise Violation(f"I6: push sent forgotten backups again: {sorted(again)}")

    def remote_backups(self):
        proc = subprocess.run(["restic", "snapshots", "--json"], env=self.env, capture_output=True, text=True)
        if proc.returncode != 0:
            return set()
        return {p for s in json.loads(proc.stdout or "[]") for p in s.get("paths", [])}

    def step_offsite_verify(self):
        self.run(self.bm, "offsite", "verify", "-q", expect=(0, 1, 3, 4))

    def step_forget(self):
        before = self.remote_backups()
        proc = self.run(self.bm, "offsite", "forget", "--keep-last", "1", "--execute", "-q", expect=(0, 1, 3, 4))
        if proc.returncode == 0:
            self.forgotten |= before - self.remote_backups()

    # ---- invariants ----

    def check_references(self):
        versions = self.root / "versions"
        if not versions.is_dir():
            return
        for link in versions.iterdir():
            if link.is_symlink():
                self.checks += 1
                target = link.resolve()
                if not (target.is_dir() and (target / "metadata.json").is_file()):
                    raise Violation(f"I5: {link.name} points to {os.readlink(link)}, which is not a version")
        ab = versions / "ab"
        if ab.is_dir():
            for test in ab.iterdir():
                doc = json.loads((test / "test.json").read_text())
                if doc.get("status") in ("draft", "running"):
                    for role in ("control", "treatment"):
                        self.checks += 1
                        name = doc.get(role)
                        if not name or not (versions / name / "metadata.json").is_file():
                            raise Violation(f"I5: the {role} of A/B test {test.name} ({doc.get('status')}), "
                                            f"{name}, no longer exists")

    def check_records(self):
        for p in self.live_backups():
            rec = self.backup_record(p)
            if rec is None:
                continue
            self.checks += 1
            if rec.get("state") == "verified" and not self.backup_intact(p) and p not in self.unseen_damage:
                raise Violation(f"I2: {p} is recorded verified although a full check saw its damage")

    def good_backups(self, paths):
        return [p for p in paths if Path(p).is_dir() and self.backup_intact(p)
                and (self.backup_record(p) or {}).get("state") == "verified"]

    def cleanup_and_check(self):
        """I4: a source that had an intact backup recorded verified still has one after cleanup
        (unless a backup of it has damage no check saw: the tool cannot know of that). Returns
        the content cleanup was allowed to remove (that of the backups it deleted)."""
        live = self.live_backups()
        good_before = self.good_backups(live)
        deleted = self.step_cleanup()
        self.checks += 1
        if good_before and not any(p in self.unseen_damage for p in live) and not self.good_backups(live):
            raise Violation("I4: cleanup left no intact verified backup of the source; it deleted "
                            + ", ".join(sorted(deleted)))
        allowed = set()
        for p in live:
            if not Path(p).is_dir():
                allowed |= set(self.backups[p]["content"].values())
        return allowed

    # ---- the sequence ----

    def play(self):
        steps = [
            (self.step_create, 5), (self.step_backup, 4), (self.step_damage, 3),
            (self.step_verify_versions, 2), (self.step_verify_backups, 3), ("cleanup", 2),
            (self.step_delete, 1), (self.step_gc, 1), (self.step_promote, 2), (self.step_rollback, 1),
            (self.step_ab, 2), (self.step_restore, 1), (self.step_repair, 2),
        ]
        if self.offsite:
            steps += [(self.step_push, 2), (self.step_offsite_verify, 1), (self.step_forget, 1)]
        steps = [(s, w) for s, w in steps
                 if (s if isinstance(s, str) else s.__name__.replace("step_", "")) not in self.without]
        actions = [s for s, _ in steps]
        weights = [w for _, w in steps]
        self.step_create()
        for _ in range(self.steps):
            action = self.rng.choices(actions, weights)[0]
            before = self.alive()
            allowed = set()
            if action == "cleanup":
                allowed = self.cleanup_and_check()
            else:
                action()
            if action == self.step_damage:
                continue  # damage is what happens to a store, not what a command does
            after = self.alive()
            known = {sha for c in self.versions.values() for sha in c.values()}
            known |= {sha for b in self.backups.values() for sha in b["content"].values()}
            lost = (set(before) & known) - set(after) - allowed
            self.checks += 1
            if lost:
                where = ", ".join(sorted({str(before[s]) for s in lost}))
                raise Violation(f"I3: the last intact copy of {len(lost)} content(s) went (was in {where})")
            self.check_records()
            self.check_references()


def run_sequence(build, base_seed, index, steps, offsite_share, without, inject):
    seed = base_seed * 100003 + index
    rng = random.Random(seed)
    offsite = rng.random() < offsite_share
    work = tempfile.mkdtemp(prefix=f"modelcheck-{index}-")
    seq = None
    try:
        seq = Sequence(build, work, rng, steps, offsite, without, inject)
        seq.play()
    except Exception as v:  # a violation, or a tool's output this checker cannot read
        log = "\n".join("    " + line for line in (seq.log if seq else []))
        what = str(v) if isinstance(v, Violation) else f"{type(v).__name__}: {v}"
        if inject:
            shutil.rmtree(work, ignore_errors=True)  # a planted fault: nothing to look at later
        return (index, f"{what}\n  steps:\n{log}\n  (left in {work})", seq.calls if seq else 0,
                seq.checks if seq else 0, offsite)
    subprocess.run(["chmod", "-R", "u+rwX", work], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)
    return (index, None, seq.calls, seq.checks, offsite)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--sequences", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--only", type=int, default=None, help="replay one sequence of --seed")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--without", default="", help="steps to leave out, e.g. repair,ab (to run an older build)")
    ap.add_argument("--inject", choices=["launder"], default=None,
                    help="plant a fault in the store (a test that the checker finds it)")
    ap.add_argument("--offsite", type=float, default=0.05, help="share of sequences with a restic repository")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    without = [w for w in args.without.split(",") if w]
    seed = args.seed if args.seed is not None else int(time.time())
    if args.offsite > 0 and shutil.which("restic") is None:
        sys.exit("modelcheck: restic is not installed (scripts/install-deps.sh)")
    indices = [args.only] if args.only is not None else list(range(args.sequences))
    print(f"modelcheck: seed {seed}, {len(indices)} sequences of {args.steps} steps, {args.jobs} jobs", flush=True)
    started = time.time()
    failures = []
    calls = checks = remote = 0
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_sequence, args.build, seed, i, args.steps, args.offsite, without, args.inject) for i in indices]
        for n, future in enumerate(futures, 1):
            index, failure, c, k, offsite = future.result()
            calls += c
            checks += k
            remote += 1 if offsite else 0
            if failure:
                failures.append((index, failure))
                print(f"VIOLATION in sequence {index} (replay: --seed {seed} --only {index}):\n  {failure}", flush=True)
            if n % 200 == 0:
                print(f"  {n} sequences, {calls} commands, {checks} invariant checks", flush=True)
    print(f"modelcheck: {len(indices)} sequences ({remote} with a restic repository), {calls} commands, "
          f"{checks} invariant checks, {len(failures)} violations, {time.time() - started:.0f} s (seed {seed})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
