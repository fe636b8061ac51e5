"""Every error Regard raises on purpose, in one tree.

Each message says what went wrong, with which file, and what the user can do about it.

    RegardError
    ├── LibraryError                  the library directory or its database
    │   ├── LibraryNotFoundError      no library at that path (and creation was not asked for)
    │   ├── LibraryLockedError        another Regard process is writing to it
    │   ├── PhotoNotFoundError        no photo with that id
    │   ├── RecapNotFoundError        no recap with that id
    │   ├── JobNotFoundError          no indexing job with that id (the web app's jobs)
    │   ├── JobStateError             the job is not in a state for that (not done, ended)
    │   ├── JobCancelledError         raised inside a job a user cancelled, to stop it
    │   ├── LibraryVersionError       made by a newer Regard than this one
    │   ├── DatabaseUnavailableError  the PostgreSQL server is unreachable or psycopg missing
    │   └── DatabaseEmptyError        no Regard catalog in that PostgreSQL database
    ├── KeyProblemError               biometric data is encrypted and cannot be opened
    │   ├── KeyMissingError           no key or passphrase was given, or the key file is gone
    │   │   └── AuditKeyMissingError  the audit log is keyed: writing or verifying it needs the key
    │   └── WrongKeyError             the key or passphrase does not open this library
    ├── PrivacyError                  the library's policy or a person's rights forbid it
    │   ├── ConsentRequiredError      identifying this person needs a consent for this purpose
    │   ├── OptedOutError             the face belongs to someone who opted out
    │   └── PrivacyRequestError       a consent, opt-out, access or erasure request is malformed
    │                                 (also an InvalidRequestError)
    ├── InvalidRequestError           a value given to a command or a request is not valid
    │   ├── UploadTooLargeError       an uploaded file (or upload) is over the size limit
    │   ├── UnsupportedUploadError    an uploaded file is not of a kind Regard accepts
    │   └── SinkError                 an alert sink cannot be added, found or used as asked
    ├── AccountError                  the web app's accounts and sessions
    │   ├── NotSignedInError          no valid session (or it expired)
    │   ├── ForbiddenError            signed in, but the role does not allow it
    │   ├── CrossSiteRequestError     a change without the page's CSRF token, or from elsewhere
    │   ├── LoginError                wrong name or password
    │   ├── WrongPasswordError        the current password, given to change it, is wrong
    │   ├── TooManyAttemptsError      too many failed logins: wait
    │   │   └── SignInBusyError       too many sign-ins at once, or from one address: wait
    │   └── UnknownHostError          the request names a host this server does not answer to
    ├── ModelError                    the face and object models
    │   ├── ModelNotInstalledError    the package that ships the weights is missing
    │   ├── ModelChecksumError        the weights on disk are not the ones we measured
    │   │   └── ConvertedModelChecksumError  a converted object model is not the pinned file
    │   ├── ObjectModelNotInstalledError     set-up has not converted this object detector
    │   ├── ModelSourceError          a downloaded model archive (or a file in it) is not
    │   │                             the pinned one, or the registry client failed
    │   └── ConversionError           the model converter cannot convert this input, or its
    │                                 output is not the pinned file
    ├── ImageError                    one input file (carries .path and .code)
    │   ├── UnreadableFileError       missing, permission denied, I/O error
    │   ├── UnsupportedFormatError    not an image format we decode
    │   ├── CorruptImageError         truncated or damaged image data
    │   ├── ImageTooLargeError        over the pixel or byte limit (decompression bombs too)
    │   ├── DecoderTimeoutError       reading it took longer than the time allowed
    │   ├── DecoderCrashError         the decoder crashed on it (its worker process died)
    │   └── VideoError                one input video
    │       ├── UnsupportedVideoError not a video Regard can decode (no video track, unknown codec)
    │       └── CorruptVideoError     truncated or damaged video data
    ├── PeopleError                   people and the owner's corrections
    │   ├── PersonNotFoundError       no person by that id or name
    │   ├── FaceNotFoundError         no face with that id
    │   ├── NameTakenError            another person already has that name
    │   └── PeopleActionError         the action makes no sense as asked (merge with itself…)
    ├── ProbeError                    the photo given to `search --face`
    │   ├── NoFaceInProbeError        no face found in it
    │   ├── AmbiguousProbeError       several faces: choose one with --face-index
    │   └── FaceIndexError            --face-index is out of range
    ├── ShareError                    an anonymised copy cannot be made as asked
    │   ├── UnsafeMetadataError       a metadata field that would identify someone was asked for
    │   └── OutputError               the copy cannot be written where asked
    ├── SampleError                   the demo sample cannot be built
    ├── ClusterError                  `index --ray` cannot use the Ray cluster asked for
    └── CameraError                   home cameras and their events
        ├── CameraNotFoundError       no camera by that name
        ├── CameraExistsError         a camera by that name is already set up
        └── CameraSourceError         a camera's source cannot be opened or read (its
                                      credentials are never in the message)

ImageError and ProbeError name the file by its path; `renamed()` gives the same error about an
upload (kept under a temporary name) by the name its sender gave it. A missing or unreadable
video raises `UnreadableFileError`, as a photo does.
"""

from regard.errors.definitions import (
    FACE_INDEX_OPTION,
    OBJECT_MODELS_HINT,
    AccountError,
    AmbiguousProbeError,
    AuditKeyMissingError,
    CameraError,
    CameraExistsError,
    CameraNotFoundError,
    CameraSourceError,
    ClusterError,
    ConsentRequiredError,
    ConversionError,
    ConvertedModelChecksumError,
    CorruptImageError,
    CorruptVideoError,
    CrossSiteRequestError,
    DatabaseEmptyError,
    DatabaseUnavailableError,
    DecoderCrashError,
    DecoderTimeoutError,
    FaceIndexError,
    FaceNotFoundError,
    ForbiddenError,
    ImageError,
    ImageTooLargeError,
    InvalidRequestError,
    JobCancelledError,
    JobNotFoundError,
    JobStateError,
    KeyMissingError,
    KeyProblemError,
    LibraryError,
    LibraryLockedError,
    LibraryNotFoundError,
    LibraryVersionError,
    LoginError,
    ModelChecksumError,
    ModelError,
    ModelNotInstalledError,
    ModelSourceError,
    NameTakenError,
    NoFaceInProbeError,
    NotSignedInError,
    ObjectModelNotInstalledError,
    OptedOutError,
    OutputError,
    PeopleActionError,
    PeopleError,
    PersonNotFoundError,
    PhotoNotFoundError,
    PrivacyError,
    PrivacyRequestError,
    ProbeError,
    RecapNotFoundError,
    RegardError,
    SampleError,
    ShareError,
    SignInBusyError,
    SinkError,
    TooManyAttemptsError,
    UnknownHostError,
    UnreadableFileError,
    UnsafeMetadataError,
    UnsupportedFormatError,
    UnsupportedUploadError,
    UnsupportedVideoError,
    UploadTooLargeError,
    VideoError,
    WrongKeyError,
    WrongPasswordError,
)

__all__ = [
    "FACE_INDEX_OPTION",
    "OBJECT_MODELS_HINT",
    "AccountError",
    "AmbiguousProbeError",
    "AuditKeyMissingError",
    "CameraError",
    "CameraExistsError",
    "CameraNotFoundError",
    "CameraSourceError",
    "ClusterError",
    "ConsentRequiredError",
    "ConversionError",
    "ConvertedModelChecksumError",
    "CorruptImageError",
    "CorruptVideoError",
    "CrossSiteRequestError",
    "DatabaseEmptyError",
    "DatabaseUnavailableError",
    "DecoderCrashError",
    "DecoderTimeoutError",
    "FaceIndexError",
    "FaceNotFoundError",
    "ForbiddenError",
    "ImageError",
    "ImageTooLargeError",
    "InvalidRequestError",
    "JobCancelledError",
    "JobNotFoundError",
    "JobStateError",
    "KeyMissingError",
    "KeyProblemError",
    "LibraryError",
    "LibraryLockedError",
    "LibraryNotFoundError",
    "LibraryVersionError",
    "LoginError",
    "ModelChecksumError",
    "ModelError",
    "ModelNotInstalledError",
    "ModelSourceError",
    "NameTakenError",
    "NoFaceInProbeError",
    "NotSignedInError",
    "ObjectModelNotInstalledError",
    "OptedOutError",
    "OutputError",
    "PeopleActionError",
    "PeopleError",
    "PersonNotFoundError",
    "PhotoNotFoundError",
    "PrivacyError",
    "PrivacyRequestError",
    "ProbeError",
    "RecapNotFoundError",
    "RegardError",
    "SampleError",
    "ShareError",
    "SignInBusyError",
    "SinkError",
    "TooManyAttemptsError",
    "UnknownHostError",
    "UnreadableFileError",
    "UnsafeMetadataError",
    "UnsupportedFormatError",
    "UnsupportedUploadError",
    "UnsupportedVideoError",
    "UploadTooLargeError",
    "VideoError",
    "WrongKeyError",
    "WrongPasswordError",
]
