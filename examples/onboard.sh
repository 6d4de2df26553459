#!/usr/bin/env bash
# Onboard one organisation into a running registry: docs/onboarding.md steps 2-6 in one go.
#
#   bash examples/onboard.sh https://localhost:8443 "Example Flex Ltd" SC123456 FlexibilityServiceProvider mykeys
#
# The organisation applies (with a CSR for its administrator), the scheme operator verifies it,
# it joins the FDI scheme in ROLE and accepts the standard agreement, the scheme operator grants
# the role, and the administrator asks for an application certificate. Writes DIR/admin.key,
# DIR/admin.pem (the administrator's certificate) and DIR/app.key, DIR/app.pem (the
# application's, with every scope the role brings). Needs the registry CA in tls/ca.pem and
# the scheme operator's certificate in operator/admin.pem and operator/admin.key, as step 1 of
# docs/onboarding.md makes them; curl, jq and fdi. Stops at the first step that is refused.
set -euo pipefail
R=$1 name=$2 company=$3 role=$4 dir=$5
ca="--cacert tls/ca.pem"
op="$ca --cert operator/admin.pem --key operator/admin.key"
admin="$ca --cert $dir/admin.pem --key $dir/admin.key"
json="Content-Type: application/json"

step() { # curl; on an HTTP error status, show the problem document and stop
  local body
  if ! body=$(curl -s --fail-with-body "$@"); then
    echo "refused: $body" >&2
    exit 1
  fi
  printf '%s\n' "$body"
}

fdi csr --name "$name administrator" --out "$dir" --prefix admin > /dev/null
org=$(jq -n --rawfile csr "$dir/admin.csr" --arg name "$name" --arg number "$company" \
  '{legalName: $name, companyNumber: $number, contactPoint: {email: "contact@example.org"}, csr: $csr}' \
  | step $ca -H "$json" --data-binary @- "$R/organisations" | jq -r .id)
id=${org##*/}
step $op -H "$json" -d '{"assuranceLevel": "DocumentsChecked"}' "$R/organisations/$id/verify" > /dev/null
step $ca "$(step $ca "$R/organisations/$id" | jq -r '.administratorCertificates[0]')" \
  > "$dir/admin.pem"
membership=$(step $admin -H "$json" -d "{\"roles\": [\"$role\"]}" "$R/schemes/fdi/memberships" \
  | jq -r .id)
step $admin -H "$json" -d '{"agreement": "1.0"}' "$R/memberships/${membership##*/}/accept" > /dev/null
step $op -H "$json" -d "{\"roles\": [\"$role\"]}" "$R/memberships/${membership##*/}/grant" > /dev/null
fdi csr --name "$name application" --out "$dir" --prefix app > /dev/null
step $admin -H 'Content-Type: application/pkcs10' --data-binary "@$dir/app.csr" \
  "$R/organisations/$id/certificates?name=app" | jq -r .certificate > "$dir/app.pem"
echo "$name: $org, $role; certificates in $dir/admin.pem and $dir/app.pem"
