m "x" { source = "git::https://h/r.git?ref=v1" }
