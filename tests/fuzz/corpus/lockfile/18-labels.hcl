provider "registry.terraform.io/a/b" "extra" {
  version = "1.0.0"
}
