package diagnosis

import _ "embed"

// JSONSchema is the JSON Schema (draft 2020-12) of the lvsdoctor/v1
// document: what `diagnose -o json` writes, field by field. The tests
// validate every example's and lab case's output against it.
//
//go:embed schema/lvsdoctor-v1.schema.json
var JSONSchema []byte
