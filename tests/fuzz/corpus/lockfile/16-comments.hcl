provider "registry.terraform.io/a/b" {
  /* c */ version = "1.0.0" # x
  hashes = [
    "h1:a", // y
    "zh:b"
  ]
}
