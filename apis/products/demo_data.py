"""Words the demo catalog is made of: the seed's two-level taxonomy in English, French and Arabic, and for
each leaf the kinds of products sold there, their brands, price range and variant axes.
"""

from __future__ import annotations

from dataclasses import dataclass

Texts = tuple[str, str, str]  # en, fr, ar


@dataclass(frozen=True)
class Kind:
    code: str
    noun: Texts
    brands: tuple[str, ...]
    prices: tuple[int, int]
    axes: tuple[str, ...]  # variant attributes, from AXES


# slug -> (names, parent slug)
CATEGORIES: dict[str, tuple[Texts, str | None]] = {
    "electronique": (("Electronics", "Électronique", "إلكترونيات"), None),
    "smartphones": (("Smartphones", "Smartphones", "هواتف ذكية"), "electronique"),
    "ordinateurs-portables": (("Laptops", "Ordinateurs portables", "حواسيب محمولة"), "electronique"),
    "accessoires-electroniques": (
        ("Electronic Accessories", "Accessoires électroniques", "إكسسوارات إلكترونية"),
        "electronique",
    ),
    "mode": (("Fashion", "Mode", "أزياء"), None),
    "vetements-homme": (("Men's Clothing", "Vêtements homme", "ملابس رجالية"), "mode"),
    "vetements-enfant": (("Kids' Clothing", "Vêtements enfant", "ملابس أطفال"), "mode"),
    "maison-cuisine": (("Home & Kitchen", "Maison & Cuisine", "المنزل والمطبخ"), None),
    "meubles": (("Furniture", "Meubles", "أثاث"), "maison-cuisine"),
    "ustensiles-cuisine": (("Kitchen Utensils", "Ustensiles de cuisine", "أدوات المطبخ"), "maison-cuisine"),
    "sante-beaute": (("Health & Beauty", "Santé & Beauté", "الصحة والجمال"), None),
    "soins-peau": (("Skin Care", "Soins de la peau", "العناية بالبشرة"), "sante-beaute"),
    "maquillage": (("Makeup", "Maquillage", "مكياج"), "sante-beaute"),
    "sport-plein-air": (("Sports & Outdoors", "Sport & Plein air", "الرياضة والهواء الطلق"), None),
    "vetements-sport": (("Sportswear", "Vêtements de sport", "ملابس رياضية"), "sport-plein-air"),
    "materiel-camping": (("Camping Gear", "Matériel de camping", "معدات التخييم"), "sport-plein-air"),
    "jouets-jeux": (("Toys & Games", "Jouets & Jeux", "ألعاب"), None),
    "jeux-societe": (("Board Games", "Jeux de société", "ألعاب الطاولة"), "jouets-jeux"),
    "jouets-educatifs": (("Educational Toys", "Jouets éducatifs", "ألعاب تعليمية"), "jouets-jeux"),
    "livres-papeterie": (("Books & Stationery", "Livres & Papeterie", "كتب وقرطاسية"), None),
    "fournitures-scolaires": (
        ("School Supplies", "Fournitures scolaires", "لوازم مدرسية"),
        "livres-papeterie",
    ),
    "materiel-art": (("Art Supplies", "Matériel d'art", "أدوات فنية"), "livres-papeterie"),
    "chaussures": (("Shoes", "Chaussures", "أحذية"), None),
    "accessoires": (("Accessories", "Accessoires", "إكسسوارات"), None),
    "sacs": (("Bags", "Sacs", "حقائب"), "accessoires"),
    "bijoux": (("Jewelry", "Bijoux", "مجوهرات"), "accessoires"),
    "fournitures-bureau": (("Office Supplies", "Fournitures de bureau", "لوازم مكتبية"), None),
    "bureaux-chaises": (("Desks & Chairs", "Bureaux & Chaises", "مكاتب وكراسي"), "fournitures-bureau"),
    "moniteurs": (("Monitors", "Moniteurs", "شاشات"), "fournitures-bureau"),
}

KINDS: dict[str, tuple[Kind, ...]] = {
    "smartphones": (
        Kind(
            "PH",
            ("Smartphone", "Smartphone", "هاتف ذكي"),
            ("Samsung", "Google", "OnePlus", "Xiaomi"),
            (199, 1299),
            ("Color", "Storage"),
        ),
    ),
    "ordinateurs-portables": (
        Kind(
            "LT",
            ("Laptop", "Ordinateur portable", "حاسوب محمول"),
            ("Dell", "Lenovo", "HP", "Asus"),
            (449, 2799),
            ("RAM", "Storage"),
        ),
    ),
    "accessoires-electroniques": (
        Kind(
            "HP", ("Headphones", "Casque audio", "سماعات رأس"), ("Sony", "Bose", "JBL"), (29, 399), ("Color",)
        ),
        Kind(
            "PB",
            ("Power Bank", "Batterie externe", "بطارية متنقلة"),
            ("Anker", "Belkin"),
            (19, 129),
            ("Capacity",),
        ),
        Kind(
            "MS",
            ("Wireless Mouse", "Souris sans fil", "فأرة لاسلكية"),
            ("Logitech", "Razer"),
            (15, 149),
            ("Color",),
        ),
    ),
    "vetements-homme": (
        Kind(
            "TS",
            ("T-Shirt", "T-shirt", "قميص قطني"),
            ("Carhartt", "Levi's", "Uniqlo"),
            (9, 49),
            ("Color", "Size"),
        ),
        Kind("JN", ("Jeans", "Jean", "بنطال جينز"), ("Levi's", "Wrangler", "Lee"), (29, 129), ("Size",)),
    ),
    "vetements-enfant": (
        Kind(
            "KH",
            ("Kids' Hoodie", "Sweat à capuche enfant", "سترة أطفال بقلنسوة"),
            ("Champion", "Gap"),
            (14, 59),
            ("Color", "Size"),
        ),
    ),
    "meubles": (
        Kind("CH", ("Armchair", "Fauteuil", "كرسي بذراعين"), ("IKEA", "Habitat"), (79, 699), ("Color",)),
        Kind(
            "BS", ("Bookcase", "Bibliothèque", "خزانة كتب"), ("IKEA", "Kave Home"), (49, 399), ("Material",)
        ),
    ),
    "ustensiles-cuisine": (
        Kind(
            "SK",
            ("Cast Iron Skillet", "Poêle en fonte", "مقلاة حديد"),
            ("Lodge", "Le Creuset"),
            (19, 249),
            ("Size",),
        ),
        Kind(
            "KN",
            ("Chef's Knife", "Couteau de chef", "سكين الطاهي"),
            ("Victorinox", "Zwilling"),
            (25, 199),
            ("Size",),
        ),
    ),
    "soins-peau": (
        Kind(
            "MC",
            ("Moisturising Cream", "Crème hydratante", "كريم مرطب"),
            ("CeraVe", "La Roche-Posay"),
            (8, 49),
            ("Capacity",),
        ),
    ),
    "maquillage": (
        Kind(
            "LS",
            ("Lipstick", "Rouge à lèvres", "أحمر شفاه"),
            ("Maybelline", "L'Oréal", "NYX"),
            (6, 39),
            ("Color",),
        ),
    ),
    "vetements-sport": (
        Kind(
            "RJ",
            ("Running Jacket", "Veste de running", "سترة جري"),
            ("Nike", "Adidas", "Puma"),
            (39, 179),
            ("Color", "Size"),
        ),
    ),
    "materiel-camping": (
        Kind("TN", ("Tent", "Tente", "خيمة"), ("Quechua", "MSR", "Coleman"), (49, 599), ("Capacity",)),
        Kind(
            "BP",
            ("Hiking Backpack", "Sac de randonnée", "حقيبة تنزه"),
            ("Osprey", "Deuter"),
            (59, 299),
            ("Capacity", "Color"),
        ),
    ),
    "jeux-societe": (
        Kind(
            "BG",
            ("Board Game", "Jeu de société", "لعبة طاولة"),
            ("Catan", "Days of Wonder", "Asmodee"),
            (19, 89),
            ("Edition",),
        ),
    ),
    "jouets-educatifs": (
        Kind(
            "BK",
            ("Building Kit", "Kit de construction", "مجموعة بناء"),
            ("LEGO", "Meccano"),
            (14, 249),
            ("Pieces",),
        ),
    ),
    "fournitures-scolaires": (
        Kind(
            "NB",
            ("Notebook", "Cahier", "دفتر"),
            ("Moleskine", "Clairefontaine", "Oxford"),
            (3, 29),
            ("Color", "Size"),
        ),
        Kind(
            "PN",
            ("Gel Pen Set", "Lot de stylos gel", "طقم أقلام جل"),
            ("Pilot", "Bic", "Staedtler"),
            (4, 24),
            ("Color",),
        ),
    ),
    "materiel-art": (
        Kind(
            "SB",
            ("Sketchbook", "Carnet de croquis", "دفتر رسم"),
            ("Canson", "Strathmore"),
            (6, 39),
            ("Size",),
        ),
    ),
    "chaussures": (
        Kind(
            "SN",
            ("Sneakers", "Baskets", "حذاء رياضي"),
            ("Nike", "Adidas", "New Balance"),
            (49, 219),
            ("Color", "Shoe size"),
        ),
    ),
    "sacs": (
        Kind(
            "DB",
            ("Duffel Bag", "Sac de voyage", "حقيبة سفر"),
            ("Herschel", "Fjällräven"),
            (39, 199),
            ("Color",),
        ),
    ),
    "bijoux": (
        Kind("WT", ("Watch", "Montre", "ساعة يد"), ("Seiko", "Casio", "Fossil"), (39, 499), ("Color",)),
    ),
    "bureaux-chaises": (
        Kind(
            "OC",
            ("Office Chair", "Chaise de bureau", "كرسي مكتب"),
            ("Herman Miller", "IKEA", "Steelcase"),
            (89, 1499),
            ("Color",),
        ),
        Kind(
            "SD",
            ("Standing Desk", "Bureau assis-debout", "مكتب قابل للتعديل"),
            ("IKEA", "Flexispot"),
            (199, 899),
            ("Size",),
        ),
    ),
    "moniteurs": (
        Kind(
            "MN",
            ("Monitor", "Moniteur", "شاشة"),
            ("Dell", "LG", "BenQ", "Samsung"),
            (129, 1199),
            ("Resolution",),
        ),
    ),
}

COLORS = (
    ("Black", "#000000"),
    ("White", "#FFFFFF"),
    ("Navy", "#1F2A44"),
    ("Red", "#C62828"),
    ("Green", "#2E7D32"),
    ("Grey", "#9E9E9E"),
    ("Blue", "#1565C0"),
    ("Beige", "#D8C8A8"),
)

# axis -> values, cheapest first (a later value costs more)
AXES: dict[str, tuple[str, ...]] = {
    "Storage": ("128GB", "256GB", "512GB", "1TB"),
    "RAM": ("8GB", "16GB", "32GB"),
    "Size": ("S", "M", "L", "XL"),
    "Shoe size": ("39", "40", "41", "42", "43", "44"),
    "Capacity": ("Small", "Medium", "Large"),
    "Material": ("Pine", "Oak", "Walnut"),
    "Edition": ("Standard", "Deluxe"),
    "Pieces": ("250", "500", "1000"),
    "Resolution": ("1920x1080", "2560x1440", "3840x2160"),
}

SERIES = ("Pro", "Air", "Max", "Lite", "Plus", "Classic", "Neo", "Ultra", "One", "Go")

QUALITIES: tuple[Texts, ...] = (
    ("lasting quality", "une qualité durable", "جودة تدوم"),
    ("a refined design", "un design soigné", "تصميم أنيق"),
    ("everyday comfort", "un confort au quotidien", "راحة يومية"),
    ("great value", "un excellent rapport qualité-prix", "قيمة ممتازة"),
    ("careful craftsmanship", "une fabrication soignée", "صناعة متقنة"),
    ("easy care", "un entretien facile", "سهولة العناية"),
)


def describe(brand: str, noun: Texts, model: str, first: Texts, second: Texts) -> Texts:
    return (
        f"The {brand} {noun[0]} {model} brings {first[0]} and {second[0]}.",
        f"{noun[1]} {brand} {model} : {first[1]} et {second[1]}.",
        f"{noun[2]} {brand} {model}: {first[2]} و{second[2]}.",
    )
