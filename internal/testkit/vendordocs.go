package testkit

// Examples from the vendors' documents that both the core's tests and the
// emulators' tests check against, kept once so that the two cannot drift.

// Fortis' POST /v2/token example (docs/PROTOCOLS.md, "Fortis"): the request,
// with the document's //REQUIRED comments, and the answer.
const (
	FortisDocOpen = `{
    "username": "myusername", //REQUIRED
    "password": "xxxxxxxx", //REQUIRED
    "domain": "xxxx.sandbox.domain.com" //REQUIRED
}`
	FortisDocOpened = `{
    "token": {
        "id": "123456789012345678901234",
        "expire": 15,
        "first_name": "John",
        "last_name": "Doe",
        "password_expire_ts": 1422283692,
        "time": 1402283692,
        "token": "abcdefghijklmnop",
        "username": "myusername",
        "primary_location_id": "123456789012345678901234",
        "timezone": "America/New_York",
        "user_type_id": 200
    }
}`
)
