provider "a/b/c/d" {
  version = "1.0.0"
}
version = "x"
