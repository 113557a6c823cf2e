"""CSV receiving: validated row by row, all or nothing; the web upload and the command."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from inventory.importing import ImportRefused, devices_import, read_csv
from inventory.models import Device, DeviceMovement, DeviceStatus, MovementKind
from inventory.selectors import ledger_discrepancies
from tests.events.conftest import in_days

pytestmark = pytest.mark.django_db
HEADER = "gtin,lot,serial,expiration_date,custodian\n"


def good_rows(world) -> list[str]:
    exp = in_days(365).isoformat()
    g = world.product.gtin
    return [
        f"{g},L1,G-1,{exp},{world.rep.username}",
        f"{g},L1,G-2,{exp},{world.rep.username}",
        f"{g},L1,G-3,{exp},{world.rep2.username}",
        f"{g},L2,G-4,{exp},{world.rep2.username}",
        f"{g},L2,G-5,{in_days(30).isoformat()},{world.admin.username}",
    ]


def bad_file(world) -> str:
    """5 good rows and 3 bad ones: rows 3, 6 and 9 of the file (the header is row 1)."""
    good = good_rows(world)
    exp = in_days(365).isoformat()
    bad = [
        f"09999999999994,L1,B-1,{exp},{world.rep.username}",  # unknown GTIN
        f"{world.product.gtin},L1,B-2,2027-13-45,{world.rep.username}",  # bad date
        f"{world.product.gtin},L1,G-1,{exp},{world.rep.username}",  # serial repeats row 2
    ]
    return HEADER + "\n".join([good[0], bad[0], good[1], good[2], bad[1], good[3], good[4],
                               bad[2]]) + "\n"


def corrected_file(world) -> str:
    return HEADER + "\n".join(good_rows(world)) + "\n"


def assert_bad_file_errors(errors: list[str]):
    assert len(errors) == 3, errors
    assert errors[0].startswith("Row 3: unknown GTIN 09999999999994")
    assert errors[1].startswith("Row 6: bad expiration date '2027-13-45'")
    assert errors[2].startswith("Row 9: serial G-1 of GTIN") and "repeats row 2" in errors[2]


def assert_five_received(world):
    devices = Device.objects.filter(organization=world.org)
    assert devices.count() == 5
    assert sorted(devices.values_list("serial", flat=True)) == [f"G-{i}" for i in range(1, 6)]
    assert devices.get(serial="G-3").custodian == world.rep2
    assert devices.get(serial="G-4").lot == "L2"
    assert devices.get(serial="G-5").expiration_date == in_days(30)
    received = DeviceMovement.objects.filter(kind=MovementKind.RECEIVED, device__in=devices)
    assert received.count() == 5
    assert set(received.values_list("actor", flat=True)) == {world.admin.pk}


# --- the service ---------------------------------------------------------------------------------


def test_bad_file_lists_three_errors_and_writes_nothing_then_corrected_file(world):
    with pytest.raises(ImportRefused) as refused:
        devices_import(actor=world.admin, rows=read_csv(bad_file(world)))
    assert_bad_file_errors([str(e) for e in refused.value.row_errors])
    assert not Device.objects.exists() and not DeviceMovement.objects.exists()

    result = devices_import(actor=world.admin, rows=read_csv(corrected_file(world)))
    assert (result.devices, result.groups) == (5, 4)
    assert_five_received(world)
    # The same file again: every serial is already received.
    with pytest.raises(ImportRefused) as refused:
        devices_import(actor=world.admin, rows=read_csv(corrected_file(world)))
    assert len(refused.value.row_errors) == 5
    assert "was already received" in str(refused.value.row_errors[0])


@pytest.mark.parametrize(("content", "expected"), [
    ("gtin,lot,serial,expiration_date\n", "Row 1: missing column custodian"),
    ("gtin,lot,serial,expiry,custodian\n",
     "Row 1: missing column expiration_date; unknown column expiry"),
    ("", "Row 1: the file is empty"),
])
def test_wrong_header_refuses_the_file(world, content, expected):
    with pytest.raises(ImportRefused) as refused:
        devices_import(actor=world.admin, rows=read_csv(content))
    assert str(refused.value.row_errors[0]).startswith(expected)


def test_every_kind_of_row_problem_is_named(world):
    g = world.product.gtin
    past = (datetime.date.today() - datetime.timedelta(days=3)).isoformat()
    exp = in_days(100).isoformat()
    content = HEADER + "\n".join([
        f"{g},,S1,{exp},{world.rep.username}",  # row 2: missing lot
        f"{g},L,S2,{exp},nobody",  # row 3: unknown custodian
        f"{g},L,S3,{exp},{world.manager.username}",  # row 4: managers hold nothing
        f"{g},L,,{exp},{world.rep.username}",  # row 5: missing serial
        f"{g},L,S6,{past},{world.rep.username}",  # row 6: expired
        f"{g},L,S7,{exp}",  # row 7: a column short
        f"{g},L,S8,30/06/2027,{world.rep.username}",  # row 8: not YYYY-MM-DD
    ]) + "\n"
    with pytest.raises(ImportRefused) as refused:
        devices_import(actor=world.admin, rows=read_csv(content))
    errors = {e.row: e.message for e in refused.value.row_errors}
    assert "the lot is missing" in errors[2]
    assert "unknown custodian 'nobody'" in errors[3]
    assert "can't hold inventory" in errors[4]
    assert "the serial number is missing" in errors[5]
    assert "is in the past" in errors[6]
    assert "wrong number of columns (4, expected 5)" in errors[7]
    assert "bad expiration date '30/06/2027'" in errors[8]
    assert not Device.objects.exists()


def test_another_organisations_gtin_and_users_are_unknown(world):
    from tests.events.conftest import build_world

    other = build_world()
    exp = in_days(100).isoformat()
    content = HEADER + f"{other.product.gtin},L,S1,{exp},{world.rep.username}\n" \
        f"{world.product.gtin},L,S2,{exp},{other.rep.username}\n"
    with pytest.raises(ImportRefused) as refused:
        devices_import(actor=world.admin, rows=read_csv(content))
    messages = [e.message for e in refused.value.row_errors]
    assert "unknown GTIN" in messages[0] and "unknown custodian" in messages[1]


def test_only_admins_import(world):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        devices_import(actor=world.rep, rows=read_csv(corrected_file(world)))


def test_ten_thousand_rows_validate_then_import_in_ten_receipts(world):
    exp = in_days(365).isoformat()
    content = HEADER + "\n".join(
        f"{world.product.gtin},BIG{i // 1000},N{i:05d},{exp},{world.rep.username}"
        for i in range(10_000)
    )
    result = devices_import(actor=world.admin, rows=read_csv(content), dry_run=True)
    assert result.rows == 10_000
    assert not Device.objects.exists() and not DeviceMovement.objects.exists()

    result = devices_import(actor=world.admin, rows=read_csv(content))
    assert result.devices == 10_000 and result.groups == 10
    devices = Device.objects.filter(organization=world.org)
    assert devices.count() == 10_000
    assert set(devices.values_list("status", "custodian", "lot").distinct()) == {
        (DeviceStatus.AVAILABLE, world.rep.pk, f"BIG{n}") for n in range(10)
    }
    received = DeviceMovement.objects.filter(organization=world.org)
    assert received.count() == 10_000
    assert set(received.values_list("kind", "from_status", "to_status").distinct()) == {
        (MovementKind.RECEIVED, "", DeviceStatus.AVAILABLE)
    }
    assert list(ledger_discrepancies(organization_id=world.org.pk)) == []


# --- the web upload --------------------------------------------------------------------------


def upload(client, content: str, **extra):
    file = SimpleUploadedFile("devices.csv", content.encode(), content_type="text/csv")
    return client.post(reverse("inventory:receiving_import"), {"file": file, **extra},
                       follow=True)


def test_upload_lists_errors_with_row_numbers_then_imports_the_corrected_file(client, world):
    client.force_login(world.admin)
    response = upload(client, bad_file(world))
    html = response.content.decode()
    assert "The file was refused: 3 problems. Nothing was imported." in html
    errors = response.context["row_errors"]
    assert_bad_file_errors([str(e) for e in errors])
    assert not Device.objects.exists()

    response = upload(client, corrected_file(world), dry_run="on")
    assert "The file is clean: 5 row(s) ready to import" in response.content.decode()
    assert not Device.objects.exists()

    response = upload(client, corrected_file(world))
    assert "Imported 5 devices from devices.csv." in response.content.decode()
    assert_five_received(world)


def test_upload_refuses_non_utf8(client, world):
    client.force_login(world.admin)
    file = SimpleUploadedFile("d.csv", (HEADER + "é").encode("latin-1"))
    response = client.post(reverse("inventory:receiving_import"), {"file": file})
    assert "the file is not UTF-8 text" in response.content.decode()


# --- the management command ----------------------------------------------------------------------


def test_command_refuses_bad_file_with_row_errors_then_imports(world, tmp_path, capsys):
    path = tmp_path / "devices.csv"
    path.write_text(bad_file(world), encoding="utf-8")
    with pytest.raises(CommandError, match=r"File refused: 3 problem\(s\); nothing was imported"):
        call_command("import_devices", str(path), "--actor", world.admin.username,
                     "--no-progress")
    assert_bad_file_errors(capsys.readouterr().err.strip().splitlines())
    assert not Device.objects.exists()

    path.write_text(corrected_file(world), encoding="utf-8")
    call_command("import_devices", str(path), "--actor", world.admin.username, "--dry-run")
    out = capsys.readouterr()
    assert "Dry run: 5 row(s) are valid" in out.out
    assert "Validating" in out.err  # the tqdm progress bar
    assert not Device.objects.exists()

    call_command("import_devices", str(path), "--actor", world.admin.username)
    assert "Received 5 devices in 4 groups." in capsys.readouterr().out
    assert_five_received(world)


def test_command_line_exits_non_zero_when_refused(world, tmp_path, capsys):
    """As from a shell: the refusal is a CommandError, which manage.py turns into exit status
    ``returncode`` (1) after printing the rows on stderr."""
    path = tmp_path / "devices.csv"
    path.write_text(bad_file(world), encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        call_command("import_devices", str(path), "--actor", world.admin.username,
                     "--no-progress")
    assert refused.value.returncode == 1
    assert "File refused: 3 problem(s)" in str(refused.value)
    err = capsys.readouterr().err
    assert "Row 3: unknown GTIN" in err
    assert not Device.objects.exists()


def test_command_needs_an_admin(world, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(corrected_file(world))
    with pytest.raises(CommandError, match="not an active admin"):
        call_command("import_devices", str(path), "--actor", world.rep.username)
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_devices", str(tmp_path / "nope.csv"), "--actor",
                     world.admin.username)


def test_command_defaults_to_the_only_admin(world, tmp_path, capsys):
    from accounts.models import User

    User.objects.filter(role="admin").exclude(pk=world.admin.pk).update(is_active=False)
    path = tmp_path / "d.csv"
    path.write_text(corrected_file(world))
    call_command("import_devices", str(path), "--no-progress")
    assert "Received 5 devices" in capsys.readouterr().out
