# SPDX-License-Identifier: Apache-2.0
# Turn the default spec JSON into a C source holding it as a byte array.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "/* Generated from default_spec.json; do not edit. */\n"
    "#include \"spec.h\"\n"
    "static const char text[] = {${bytes} 0x00};\n"
    "const char *mmdx_records_spec_default_text(void) { return text; }\n")
