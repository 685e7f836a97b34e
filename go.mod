module github.com/apisign/apisign

go 1.26

require (
	github.com/syumai/workers v0.33.0
	golang.org/x/oauth2 v0.30.0
)

require honnef.co/go/js/dom/v2 v2.0.0-20250304181735-b5e52f05e89d

require github.com/andybalholm/brotli v1.2.0
