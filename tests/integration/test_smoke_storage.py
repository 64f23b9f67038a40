from offboard.actions.context import tenant_read
from offboard.queries.directory import list_departments
from tests.support.factories import add_department, add_member, make_tenant


def test_tenant_is_created_with_root_department_and_super_admin(services):
    make_tenant(services)
    dept = add_department(services, "Sales")
    add_member(services, "amy", [dept])
    with tenant_read(services, "acme") as (conn, tenant, actor):
        tree = list_departments(conn, tenant.id, actor)
    assert [(d.name, d.headcount) for d in tree] == [("Acme", 2), ("Sales", 1)]


def test_postgresql_sessions_run_without_jit(services):
    # Compiling a short statement whose estimated cost a correlated subquery inflates took
    # longer than running it (offboard.store.db.connect).
    with services.db.read() as conn:
        if conn.dialect.name != "postgresql":
            return
        assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"
