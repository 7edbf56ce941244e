"""Demo data for trying the help desk: `python manage.py seed_demo`.

`content` holds the invented names, organisations and ticket texts (English, Brazilian
Portuguese and Russian); `seed` turns them into rows quickly with bulk inserts.
"""
