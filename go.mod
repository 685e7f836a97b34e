module github.com/apisign/apisign

go 1.26

require (
	github.com/syumai/workers v0.33.0
	golang.org/x/oauth2 v0.30.0
)
