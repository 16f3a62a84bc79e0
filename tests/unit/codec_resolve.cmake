# inv_codec's Avro schema resolution: writer schemas from a resolver.
inv_unit_test(test_codec_resolve test_codec_resolve.c)
