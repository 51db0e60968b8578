text = dedupe_protos(pick(text, 'co'))
