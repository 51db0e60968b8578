text = dedupe_protos(text, keep='last')
