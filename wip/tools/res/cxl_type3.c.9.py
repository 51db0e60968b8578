text = pick(text, 'co')
