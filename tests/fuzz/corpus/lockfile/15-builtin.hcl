provider "terraform.io/builtin/terraform" {
  version = "1.0.0"
}
