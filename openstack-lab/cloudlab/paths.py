"""Where everything of one lab lives: one directory, nothing in /etc or in the repository."""

from dataclasses import dataclass
from pathlib import Path

# Marks a directory as a lab directory, so `lab-reset` never wipes anything else.
MARKER = ".paasmas-lab"
REPO_LAB = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class LabPaths:
    root: Path

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def python(self) -> Path:
        """The lab's own drivers and their entry points (copied from openstack-lab/drivers)."""
        return self.root / "python"

    @property
    def mysql_data(self) -> Path:
        return self.state / "mysql"

    @property
    def mysql_socket(self) -> Path:
        return self.run / "mysqld.sock"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.json"

    @property
    def clouds_yaml(self) -> Path:
        return self.root / "clouds.yaml"

    @property
    def certs(self) -> Path:
        return self.state / "octavia" / "certs"

    def conf(self, service: str, name: str) -> Path:
        return self.etc / service / name

    def pidfile(self, service: str) -> Path:
        return self.run / f"{service}.pid"

    def logfile(self, service: str) -> Path:
        return self.log / f"{service}.log"

    def stamp(self, name: str) -> Path:
        return self.state / "stamps" / name

    def is_lab(self) -> bool:
        return (self.root / MARKER).is_file()

    def create(self) -> None:
        for d in (self.etc, self.log, self.run, self.state / "stamps", self.home, self.python):
            d.mkdir(parents=True, exist_ok=True)
        (self.root / MARKER).write_text("PaaSmas local OpenStack cloud (make lab-reset wipes it)\n")
