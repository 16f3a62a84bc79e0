# inv_codec's Avro schema resolution: writer schemas from a resolver.
inv_unit_test(test_codec_resolve test_codec_resolve.c)
# BACKWARD compatibility: the previous versions of the changed schemas as writer schemas.
inv_unit_test(test_codec_backward test_codec_backward.c)
target_compile_definitions(test_codec_backward PRIVATE INV_SCHEMAS_DIR="${CMAKE_SOURCE_DIR}/schemas")
