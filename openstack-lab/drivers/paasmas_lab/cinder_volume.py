"""A Cinder volume driver whose volumes exist only in the database.

Cinder's own test driver (FakeLoggingVolumeDriver) fakes create/attach/delete but still copies an
image onto a block device for a volume made from an image (boot from volume), which fails
without LVM. Here the copies are no-ops too, so an image-backed boot volume becomes `available`.
"""

from typing import Any

from cinder.tests.fake_driver import FakeLoggingVolumeDriver
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class LabVolumeDriver(FakeLoggingVolumeDriver):  # type: ignore[misc]
    """FakeLoggingVolumeDriver without data: image copies are recorded, not made."""

    def copy_image_to_volume(
        self, context: Any, volume: Any, image_service: Any, image_id: str
    ) -> None:
        LOG.info("lab: image %s 'copied' to volume %s (no data)", image_id, volume.id)

    def copy_volume_to_image(
        self, context: Any, volume: Any, image_service: Any, image_meta: Any
    ) -> None:
        LOG.info("lab: volume %s 'copied' to image %s (no data)", volume.id, image_meta["id"])

    def extend_volume(self, volume: Any, new_size: int) -> None:
        LOG.info("lab: volume %s 'extended' to %s GB", volume.id, new_size)
