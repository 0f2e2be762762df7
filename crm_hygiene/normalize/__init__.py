"""Field normalizers, one module per field family, each built on a maintained parser."""
