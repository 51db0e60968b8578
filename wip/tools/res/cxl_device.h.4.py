text = dedupe_protos(text)
