"""Builds tests/screening/data/name_pairs.csv, the labelled set the built-in screener's matcher
is measured on (tests/screening/test_matching_quality.py): pairs of a list entry and a
screened name, each labelled a match (1, the same person or company written another way) or
not (0, someone else with a close name), with the kind of difficulty as its category.

The names are fictional: given names and family names drawn from pools of common real
names of many cultures and combined at random (fixed seed), not real listed people. The
variant spellings are written out by hand here (transliterations as passports, newspapers
and other languages write them), never produced by the matcher's own library. Every row
gets a split, "tune" or "check", alternating within its category: the threshold is chosen
on "tune", and the figures are reported on both.

Run `python tests/screening/data/build_name_pairs.py` to rewrite the CSV (the same seed
gives the same file); the CSV is committed and the test reads only the CSV.
"""
from __future__ import annotations

import csv
import random
from pathlib import Path

SEED = 14
OUT = Path(__file__).with_name("name_pairs.csv")
FIELDS = ["pair_id", "split", "category", "label", "schema", "query_schema", "list_name",
          "list_aliases", "list_birth_dates", "list_countries", "query_name",
          "query_birth_date", "query_country"]

# --- Pools: (as the list writes it, [other spellings of the same name]) ------------------
RU_MALE = [("Сергей", ["Sergey", "Sergei", "Serguei", "Sergej"]),
           ("Алексей", ["Aleksey", "Alexei", "Alexey", "Aleksei"]),
           ("Дмитрий", ["Dmitry", "Dmitriy", "Dmitri", "Dmitrij"]),
           ("Юрий", ["Yuri", "Yury", "Iurii", "Juri"]),
           ("Андрей", ["Andrey", "Andrei", "Andrej"]),
           ("Николай", ["Nikolay", "Nikolai", "Nicolai"]),
           ("Евгений", ["Evgeny", "Yevgeny", "Evgeniy", "Jewgeni"]),
           ("Вячеслав", ["Vyacheslav", "Viacheslav", "Wjatscheslaw"]),
           ("Фёдор", ["Fyodor", "Fedor", "Fiodor"]),
           ("Григорий", ["Grigory", "Grigoriy", "Grigori"]),
           ("Аркадий", ["Arkady", "Arkadiy", "Arkadi"]),
           ("Анатолий", ["Anatoly", "Anatoliy", "Anatoli"]),
           ("Виталий", ["Vitaly", "Vitaliy", "Vitali"]),
           ("Константин", ["Konstantin", "Constantin"]),
           ("Олег", ["Oleg"]), ("Игорь", ["Igor"]), ("Павел", ["Pavel"]),
           ("Тимур", ["Timur"]), ("Роман", ["Roman"]), ("Борис", ["Boris"])]
RU_FEMALE = [("Екатерина", ["Ekaterina", "Yekaterina", "Jekaterina"]),
             ("Наталья", ["Natalya", "Natalia", "Nataliya"]),
             ("Татьяна", ["Tatyana", "Tatiana", "Tatjana"]),
             ("Юлия", ["Yulia", "Yuliya", "Julia"]),
             ("Анастасия", ["Anastasia", "Anastasiya"]),
             ("Ксения", ["Ksenia", "Kseniya", "Xenia"]),
             ("Елена", ["Elena", "Yelena", "Jelena"]),
             ("Людмила", ["Lyudmila", "Ludmila", "Liudmila"]),
             ("Ольга", ["Olga"]), ("Ирина", ["Irina"]), ("Светлана", ["Svetlana"])]
RU_PATRONYMIC = [("Сергеевич", "Сергеевна", ["Sergeyevich", "Sergeevich"]),
                 ("Алексеевич", "Алексеевна", ["Alekseyevich", "Alexeevich"]),
                 ("Викторович", "Викторовна", ["Viktorovich", "Victorovich"]),
                 ("Иванович", "Ивановна", ["Ivanovich"]),
                 ("Петрович", "Петровна", ["Petrovich"]),
                 ("Николаевич", "Николаевна", ["Nikolayevich", "Nikolaevich"]),
                 ("Владимирович", "Владимировна", ["Vladimirovich"]),
                 ("Юрьевич", "Юрьевна", ["Yuryevich", "Iurievich"])]
RU_SURNAME = [("Кузнецов", ["Kuznetsov", "Kouznetsov", "Kusnezow"]),
              ("Соколов", ["Sokolov", "Sokolow"]), ("Лебедев", ["Lebedev", "Lebedew"]),
              ("Козлов", ["Kozlov", "Koslow"]), ("Новиков", ["Novikov", "Nowikow"]),
              ("Морозов", ["Morozov", "Morosow"]), ("Волков", ["Volkov", "Wolkow"]),
              ("Соловьёв", ["Solovyov", "Soloviev", "Solovev"]),
              ("Васильев", ["Vasilyev", "Vasiliev", "Wassiljew"]),
              ("Зайцев", ["Zaytsev", "Zaitsev", "Saizew"]),
              ("Семёнов", ["Semyonov", "Semenov"]), ("Голубев", ["Golubev", "Golubew"]),
              ("Виноградов", ["Vinogradov"]), ("Богданов", ["Bogdanov"]),
              ("Воробьёв", ["Vorobyov", "Vorobiev"]), ("Фёдоров", ["Fyodorov", "Fedorov"]),
              ("Михайлов", ["Mikhaylov", "Mikhailov"]), ("Беляев", ["Belyaev", "Beliaev"]),
              ("Тарасов", ["Tarasov"]), ("Комаров", ["Komarov"]), ("Орлов", ["Orlov"]),
              ("Киселёв", ["Kiselyov", "Kiselev"]), ("Андреев", ["Andreyev", "Andreev"]),
              ("Ковалёв", ["Kovalyov", "Kovalev"]), ("Кудрявцев", ["Kudryavtsev", "Kudriavtsev"]),
              ("Яковлев", ["Yakovlev", "Jakowlew"]), ("Захаров", ["Zakharov", "Sacharow"]),
              ("Королёв", ["Korolyov", "Korolev"]), ("Пономарёв", ["Ponomaryov", "Ponomarev"]),
              ("Григорьев", ["Grigoryev", "Grigoriev"]), ("Герасимов", ["Gerasimov"])]
UA_GIVEN = [("Олександр", ["Oleksandr", "Olexandr", "Oleksander"]),
            ("Олексій", ["Oleksii", "Oleksiy"]), ("Богдан", ["Bohdan", "Bogdan"]),
            ("Андрій", ["Andrii", "Andriy"]), ("Тарас", ["Taras"]), ("Василь", ["Vasyl"])]
UA_SURNAME = [("Шевчук", ["Shevchuk", "Schewtschuk"]), ("Бондаренко", ["Bondarenko"]),
              ("Ткаченко", ["Tkachenko", "Tkatchenko"]), ("Кравченко", ["Kravchenko"]),
              ("Мельник", ["Melnyk", "Melnik"]), ("Олійник", ["Oliinyk", "Oliynyk"]),
              ("Литвиненко", ["Lytvynenko", "Litvinenko"]),
              ("Гончаренко", ["Honcharenko", "Goncharenko"])]
AR_GIVEN = [("محمد", ["Mohammed", "Muhammad", "Mohamed", "Mohamad"]),
            ("أحمد", ["Ahmed", "Ahmad"]), ("علي", ["Ali", "Aly"]),
            ("حسن", ["Hassan", "Hasan"]), ("حسين", ["Hussein", "Husain", "Hussain"]),
            ("خالد", ["Khaled", "Khalid"]), ("عمر", ["Omar", "Umar"]),
            ("يوسف", ["Yousef", "Youssef", "Yusuf"]), ("إبراهيم", ["Ibrahim", "Ebrahim"]),
            ("مصطفى", ["Mustafa", "Moustafa", "Mostafa"]), ("سعيد", ["Saeed", "Said"]),
            ("كريم", ["Karim", "Kareem"]), ("طارق", ["Tariq", "Tarek", "Tarik"]),
            ("جمال", ["Jamal", "Gamal"]), ("ناصر", ["Nasser", "Nasir"]),
            ("فاطمة", ["Fatima", "Fatma"]), ("زينب", ["Zainab", "Zeinab"]),
            ("مريم", ["Maryam", "Mariam"]), ("عائشة", ["Aisha", "Aicha", "Aysha"])]
AR_FAMILY = [("الحسيني", ["Al-Husseini", "Al Husseini", "Alhusseini", "El-Husseini"]),
             ("الزهراني", ["Al-Zahrani", "Alzahrani", "Al Zahrani"]),
             ("القحطاني", ["Al-Qahtani", "Al Qahtani", "Alqahtani"]),
             ("الشمري", ["Al-Shammari", "Alshammari", "Al Shamari"]),
             ("حداد", ["Haddad", "Hadad"]), ("منصور", ["Mansour", "Mansur"]),
             ("خوري", ["Khoury", "Khouri", "Khuri"]), ("سليمان", ["Suleiman", "Sulaiman", "Soliman"]),
             ("عثمان", ["Othman", "Osman", "Uthman"]), ("صالح", ["Saleh", "Salih"]),
             ("الرشيد", ["Al-Rashid", "Al Rasheed", "Alrashid"]),
             ("النجار", ["Al-Najjar", "Alnajjar", "Al Naggar"])]
ZH_FAMILY = [("王", "Wang", ["Wong"]), ("李", "Li", ["Lee"]), ("张", "Zhang", ["Chang", "Cheung"]),
             ("刘", "Liu", ["Lau"]), ("陈", "Chen", ["Chan"]), ("杨", "Yang", ["Yeung"]),
             ("黄", "Huang", ["Wong"]), ("赵", "Zhao", ["Chao"]), ("周", "Zhou", ["Chou", "Chow"]),
             ("徐", "Xu", ["Hsu"]), ("孙", "Sun", []), ("马", "Ma", []), ("朱", "Zhu", ["Chu"]),
             ("郭", "Guo", ["Kuo", "Kwok"]), ("何", "He", ["Ho"]), ("林", "Lin", ["Lam"]),
             ("罗", "Luo", ["Lo"]), ("高", "Gao", ["Kao"])]
ZH_GIVEN = [("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"),
            ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("勇", "Yong"), ("艳", "Yan"),
            ("杰", "Jie"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"), ("秀英", "Xiuying"),
            ("建国", "Jianguo"), ("志强", "Zhiqiang"), ("晓明", "Xiaoming"), ("海燕", "Haiyan"),
            ("玉兰", "Yulan")]
EL_GIVEN = [("Γεώργιος", ["Georgios", "Yeorgios"]), ("Δημήτριος", ["Dimitrios", "Demetrios"]),
            ("Κωνσταντίνος", ["Konstantinos", "Constantinos"]), ("Νικόλαος", ["Nikolaos"]),
            ("Ιωάννης", ["Ioannis", "Ioannes"]), ("Ελένη", ["Eleni", "Helene"]),
            ("Αικατερίνη", ["Aikaterini", "Ekaterini"])]
EL_FAMILY = [("Παπαδόπουλος", ["Papadopoulos", "Papadopulos"]),
             ("Παπαδάκης", ["Papadakis"]), ("Γεωργίου", ["Georgiou", "Yeorgiou"]),
             ("Οικονόμου", ["Oikonomou", "Economou"]), ("Νικολάου", ["Nikolaou", "Nicolaou"]),
             ("Βασιλείου", ["Vasileiou", "Vassiliou"]), ("Καραγιάννης", ["Karagiannis", "Karayannis"])]
JA = [("Satō", ["Sato", "Satou", "Satoh"]), ("Itō", ["Ito", "Itou", "Itoh"]),
      ("Ōno", ["Ono", "Ohno"]), ("Kōno", ["Kono", "Kohno"]), ("Yūki", ["Yuki", "Yuuki"]),
      ("Shūji", ["Shuji", "Shuuji"]), ("Ryōta", ["Ryota", "Ryouta"]), ("Kōji", ["Koji", "Kouji"])]
JA_PLAIN = ["Tanaka", "Suzuki", "Takahashi", "Watanabe", "Yamamoto", "Nakamura", "Kobayashi",
            "Hiroshi", "Takashi", "Kenji", "Akiko", "Haruka", "Daisuke", "Yumi"]
KO_FAMILY = [("Kim", ["Gim"]), ("Park", ["Pak", "Bak"]), ("Choi", ["Choe"]),
             ("Jung", ["Chung", "Jeong"]), ("Yoon", ["Yun"]), ("Lim", ["Im"])]
KO_GIVEN = [("Min-jun", ["Minjun", "Min Jun"]), ("Seo-yeon", ["Seoyeon", "Seo Yeon"]),
            ("Ji-hoon", ["Jihoon", "Ji Hun"]), ("Hyun-woo", ["Hyunwoo", "Hyeon-u"]),
            ("Eun-ji", ["Eunji", "Eun Ji"]), ("Young-ho", ["Youngho", "Yeong-ho"])]
FA_GIVEN = [("Mohammad Reza", ["Mohammadreza", "Muhammad Reza"]),
            ("Ali Reza", ["Alireza"]), ("Amir Hossein", ["Amirhossein", "Amir Hussein"]),
            ("Mahmoud", ["Mahmud"]), ("Hossein", ["Hosein", "Husayn"]), ("Mehdi", ["Mahdi"]),
            ("Farhad", ["Farhad"]), ("Dariush", ["Daryush", "Dariusz"]),
            ("Fatemeh", ["Fatemah"]), ("Zahra", ["Zahra"]), ("Shirin", ["Shirin"])]
FA_FAMILY = [("Hosseini", ["Hoseini", "Husseini"]), ("Mousavi", ["Musavi", "Moussavi"]),
             ("Rezaei", ["Rezaie", "Rezayi"]), ("Ghorbani", ["Qorbani"]),
             ("Jafari", ["Jaafari", "Ja'fari"]), ("Sadeghi", ["Sadeqi"]),
             ("Karimi", ["Karimi"]), ("Moradi", ["Moradi"]), ("Tehrani", ["Tehrani"]),
             ("Hashemi", ["Hashimi"]), ("Akbari", ["Akbari"]), ("Rahimi", ["Rahimi"])]
# Latin script with diacritics: (as written, without them, [other ASCII spellings]).
DIACRITIC_GIVEN = [("José", []), ("María", []), ("Jesús", []), ("Ángel", []), ("Sofía", []),
                   ("Andrés", []), ("Raúl", []), ("Inés", []), ("Óscar", []), ("Ramón", []),
                   ("João", []), ("Sebastião", []), ("Jürgen", ["Juergen"]), ("Jörg", ["Joerg"]),
                   ("Günther", ["Guenther"]), ("Björn", ["Bjoern"]), ("François", []),
                   ("Hélène", []), ("Jérôme", []), ("Benoît", []), ("Loïc", []),
                   ("Łukasz", []), ("Paweł", []), ("Małgorzata", []), ("Jiří", []),
                   ("Tomáš", []), ("Ayşe", []), ("İsmail", []), ("Hüseyin", []),
                   ("Barış", []), ("Çağlar", []), ("Søren", []), ("Jørgen", []),
                   ("Åsa", []), ("Øystein", []), ("Ștefan", []), ("Ionuț", [])]
DIACRITIC_FAMILY = [("García", []), ("Rodríguez", []), ("Martínez", []), ("Hernández", []),
                    ("López", []), ("González", []), ("Pérez", []), ("Sánchez", []),
                    ("Muñoz", []), ("Jiménez", []), ("Gutiérrez", []), ("Ibáñez", []),
                    ("Núñez", []), ("Gonçalves", []), ("Magalhães", []), ("Simões", []),
                    ("Müller", ["Mueller"]), ("Schröder", ["Schroeder"]), ("Köhler", ["Koehler"]),
                    ("Krämer", ["Kraemer"]), ("Schäfer", ["Schaefer"]), ("Weiß", ["Weiss"]),
                    ("Strauß", ["Strauss"]), ("Lefèvre", []), ("Mercier", []),
                    ("Wiśniewski", []), ("Wójcik", []), ("Kamiński", []), ("Zieliński", []),
                    ("Woźniak", []), ("Dąbrowski", []), ("Kozłowski", []), ("Dvořák", []),
                    ("Růžička", []), ("Černý", []), ("Procházka", []), ("Kučera", []),
                    ("Şahin", []), ("Öztürk", []), ("Çelik", []), ("Yılmaz", []),
                    ("Kılıç", []), ("Doğan", []), ("Sørensen", []), ("Jørgensen", []),
                    ("Åberg", []), ("Mihăilescu", []), ("Țurcanu", [])]
VI = [("Nguyễn Văn An", "Nguyen Van An"), ("Trần Thị Hương", "Tran Thi Huong"),
      ("Lê Minh Tuấn", "Le Minh Tuan"), ("Phạm Đức Anh", "Pham Duc Anh"),
      ("Hoàng Thị Lan", "Hoang Thi Lan"), ("Huỳnh Quốc Bảo", "Huynh Quoc Bao"),
      ("Đặng Văn Hùng", "Dang Van Hung"), ("Bùi Thị Mai", "Bui Thi Mai"),
      ("Đỗ Quang Vinh", "Do Quang Vinh"), ("Vũ Thị Thu", "Vu Thi Thu")]
EN_GIVEN_M = ["John", "James", "Robert", "Michael", "William", "David", "Richard", "Thomas",
              "Charles", "Christopher", "Matthew", "Anthony", "Andrew", "Kenneth", "Kevin",
              "Edward", "George", "Brian", "Ronald", "Timothy", "Jonathan", "Patrick", "Gregory"]
EN_GIVEN_F = ["Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan",
              "Jessica", "Sarah", "Nancy", "Lisa", "Margaret", "Dorothy", "Rebecca", "Deborah"]
EN_FAMILY = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
             "Anderson", "Taylor", "Moore", "Jackson", "Thompson", "White", "Harris", "Clark",
             "Lewis", "Robinson", "Walker", "Young", "Allen", "Wright", "Scott", "Hughes",
             "O'Brien", "McDonald", "O'Connor", "Fitzgerald", "MacLeod", "Gallagher"]
IN_GIVEN = ["Ramesh", "Suresh", "Rajesh", "Anil", "Sunil", "Priya", "Anjali", "Deepak",
            "Vijay", "Arun", "Sanjay", "Lakshmi", "Venkatesh", "Srinivas", "Kavita", "Pooja"]
IN_MIDDLE = ["Kumar", "Prasad", "Chandra", "Lal", "Nath", "Mohan", "Devi"]
IN_FAMILY = ["Sharma", "Verma", "Gupta", "Patel", "Reddy", "Iyer", "Nair", "Menon", "Rao",
             "Agarwal", "Chatterjee", "Banerjee", "Mukherjee", "Srinivasan", "Krishnamurthy",
             "Bhattacharya", "Chaudhary", "Deshpande", "Kulkarni", "Malhotra"]
AF_GIVEN = ["Oluwaseun", "Chukwuemeka", "Adebayo", "Ngozi", "Chinonso", "Kwame", "Kofi",
            "Abena", "Tendai", "Thabo", "Sipho", "Amina", "Fatou", "Moussa", "Ibrahima",
            "Aminata", "Mamadou", "Folasade", "Nnamdi", "Yaw"]
AF_FAMILY = ["Adeyemi", "Okafor", "Okonkwo", "Mensah", "Asante", "Boateng", "Owusu", "Nkosi",
             "Dlamini", "Mokoena", "Diallo", "Coulibaly", "Ndiaye", "Diop", "Mutasa", "Moyo",
             "Oyelaran", "Achebe", "Eze", "Nwosu", "Banda", "Phiri", "Kamara", "Sesay"]

# Different names of similar shape (different people), for near misses.
NEAR_GIVEN = [("Daniel", "Daniela"), ("Ivan", "Ivana"), ("Jan", "Jana"), ("Paul", "Paula"),
              ("Martin", "Martina"), ("Karim", "Karima"), ("Samir", "Samira"),
              ("Amir", "Amira"), ("Nabil", "Nabila"), ("Luis", "Luisa"), ("Carlos", "Carla"),
              ("Mario", "Maria"), ("Antonio", "Antonia"), ("Gabriel", "Gabriela"),
              ("Adrian", "Adriana"), ("Pavel", "Pavla"), ("Aleksandr", "Aleksandra"),
              ("Yevgeny", "Yevgenia"), ("Francisco", "Francisca"), ("Michael", "Michelle"),
              ("Maria", "Marta"), ("Omar", "Ammar"), ("Yusuf", "Yunus"), ("Khaled", "Khalil"),
              ("Hamid", "Hamad"), ("Rashid", "Rashad"), ("Tariq", "Talib"),
              ("Emil", "Emilia"), ("Wei", "Wen"), ("Lei", "Lin"), ("Jun", "Jin"),
              ("Oleg", "Olga"), ("Boris", "Borislav"), ("Igor", "Ignat"), ("Sergey", "Semyon"),
              ("Dmitry", "Demyan"), ("Kofi", "Kojo"), ("Amina", "Aminata"),
              ("Ramesh", "Rakesh"), ("Suresh", "Sudesh"), ("Anil", "Amil"),
              ("Deepak", "Dipika"), ("Hiroshi", "Hiroki"), ("Kenji", "Kenta"),
              ("Kamil", "Kamila"), ("Robert", "Roberta"), ("George", "Georgia")]
NEAR_FAMILY = [("Petrov", "Petrenko"), ("Ivanov", "Ivanenko"), ("Smith", "Smithson"),
               ("Kowalski", "Kowalczyk"), ("Muller", "Moller"), ("Schmidt", "Schmitz"),
               ("Fernandez", "Hernandez"), ("Martinez", "Martins"), ("Chen", "Cheng"),
               ("Li", "Lin"), ("Zhang", "Zheng"), ("Liu", "Lu"), ("Tran", "Trinh"),
               ("Pham", "Phan"), ("Yilmaz", "Yildiz"), ("Celik", "Cetin"),
               ("Ozturk", "Ozdemir"), ("Al-Amin", "Al-Amri"), ("Okafor", "Okoro"),
               ("Papadopoulos", "Papadakis"), ("Sharma", "Verma"), ("Reddy", "Rudd"),
               ("Kuznetsov", "Kuzmin"), ("Sokolov", "Sorokin"), ("Volkov", "Volkova"),
               ("Morozov", "Morozova"), ("Haddad", "Hamdan"), ("Mansour", "Mansouri"),
               ("Sato", "Saito"), ("Hosseini", "Hosseinzadeh"), ("Karimi", "Kazemi"),
               ("Kato", "Kudo"), ("Castro", "Castillo"), ("Nkosi", "Nkosana"),
               ("Johnson", "Johnston"), ("Romero", "Romano"), ("Bianchi", "Bianco"),
               ("Weber", "Werner"), ("Harris", "Harrison"), ("Robinson", "Robertson"),
               ("Walker", "Walter"), ("Keller", "Kellner"), ("Fischer", "Fischler"),
               ("Bondarenko", "Bondar"), ("Melnyk", "Melnychuk"), ("Tkachenko", "Tkachuk")]

# Organisations.
ORG_CORE = ["Golden Star", "Blue Ocean", "Silver Crescent", "Northern Light", "Red Sea",
            "Green Valley", "Alpha Omega", "Atlas", "Orion", "Meridian", "Zenith", "Phoenix",
            "Sapphire", "Crescent Moon", "Eastern Bridge", "Silk Road", "Baltic Amber",
            "Caspian", "Nordic Pine", "Sahara", "Pacific Rim", "Mekong", "Danube", "Tigris",
            "Everest", "Lotus", "Jade Dragon", "Falcon", "Polaris", "Aurora", "Sirius",
            "Helios", "Titan", "Cobalt", "Granite", "Evergreen", "Summit", "Horizon",
            "Pinnacle", "Royal Palm", "Cedar", "Olive Branch", "Kestrel", "Marlin", "Oasis",
            "Amberley", "Trident", "Vanguard", "Saffron", "Obsidian"]
# Another name that looks alike: a different word, not a misspelling of the same one.
ORG_NEAR = {"Golden Star": "Golden Sun", "Blue Ocean": "Blue Horizon", "Silver Crescent":
            "Silver Creek", "Northern Light": "Northern Line", "Red Sea": "Red Star",
            "Green Valley": "Green Village", "Alpha Omega": "Alpha Delta", "Atlas": "Atlantis",
            "Orion": "Orient", "Meridian": "Median", "Zenith": "Zenobia", "Phoenix": "Phoenicia",
            "Sapphire": "Samphire", "Crescent Moon": "Crescent Sun", "Eastern Bridge":
            "Eastern Ridge", "Silk Road": "Silk Mill", "Baltic Amber": "Baltic Timber",
            "Caspian": "Carpathian", "Nordic Pine": "Nordic Wine", "Sahara": "Samara",
            "Pacific Rim": "Pacific Ring", "Mekong": "Mekele", "Danube": "Dane",
            "Tigris": "Tiger", "Everest": "Evertrust", "Lotus": "Locus", "Jade Dragon":
            "Jade Tiger", "Falcon": "Falconer", "Polaris": "Solaris", "Aurora": "Aura",
            "Sirius": "Cirrus", "Helios": "Helix", "Titan": "Titanium", "Cobalt": "Basalt",
            "Granite": "Granada", "Evergreen": "Everglade", "Summit": "Sunlit", "Horizon":
            "Orison", "Pinnacle": "Pinochle", "Royal Palm": "Royal Pine", "Cedar": "Cider",
            "Olive Branch": "Olive Ranch", "Kestrel": "Kettle", "Marlin": "Merlin",
            "Oasis": "Osiris", "Amberley": "Amberwood", "Trident": "Strident",
            "Vanguard": "Vineyard", "Saffron": "Sable", "Obsidian": "Oblivion"}
ORG_BUSINESS = ["Trading", "Holdings", "Shipping", "Group", "Energy", "Logistics",
                "Petroleum", "Industries", "Investments", "Capital", "Construction", "Marine",
                "Commodities", "Resources", "Technologies", "Minerals", "Metals", "Chemicals",
                "Engineering", "General Trading", "Enterprises"]
LEGAL_VARIANTS = [["LLC", "L.L.C.", "Limited Liability Company"],
                  ["Ltd", "Ltd.", "Limited", "Company Limited"],
                  ["GmbH", "Gesellschaft mit beschränkter Haftung"],
                  ["AG", "Aktiengesellschaft"], ["SA", "S.A.", "Sociedad Anónima"],
                  ["JSC", "Joint Stock Company"], ["Inc", "Inc.", "Incorporated"],
                  ["Corp", "Corporation"], ["PLC", "Public Limited Company"],
                  ["FZE"], ["BV", "B.V."], ["SARL", "S.A.R.L."]]
RU_ORG = [("Ромашка", "Romashka"), ("Восток", "Vostok"), ("Север", "Sever"),
          ("Звезда", "Zvezda"), ("Волга", "Volga"), ("Сибирь", "Sibir"),
          ("Прогресс", "Progress"), ("Титан", "Titan"), ("Урал", "Ural"),
          ("Байкал", "Baikal"), ("Гранит", "Granit"), ("Рассвет", "Rassvet"),
          ("Меридиан", "Meridian"), ("Содружество", "Sodruzhestvo"), ("Альтаир", "Altair")]
RU_ORG_FORMS = [("ООО", ["OOO", "LLC", "Limited Liability Company"]),
                ("АО", ["AO", "JSC", "Joint Stock Company"]),
                ("Общество с ограниченной ответственностью", ["LLC", "OOO"])]
HONORIFICS = ["Mr", "Mr.", "Dr", "Dr.", "Prof.", "Professor", "General", "Colonel",
              "His Excellency", "Reverend", "Captain", "Doctor", "Hon.", "Director"]
COUNTRIES = ["RU", "UA", "IR", "SY", "AE", "SA", "EG", "LB", "CN", "HK", "GR", "JP", "KR",
             "ES", "PT", "BR", "DE", "FR", "PL", "CZ", "TR", "VN", "NO", "DK", "SE", "RO",
             "GB", "US", "IE", "IN", "NG", "GH", "ZA", "SN", "ML", "ZW", "CY", "PA", "MT"]


class Part:
    """One part of a person's name: as its own script writes it (or None for Latin), and its
    Latin spellings, the first being the list's."""

    def __init__(self, script: str | None, latin: list[str]) -> None:
        self.script = script
        self.latin = latin


class Person:
    """A fictional person: name parts in the order the culture writes them, and which part
    is the family name and which the middle (patronymic, father's name, second given)."""

    def __init__(self, culture: str, parts: list[Part], family: int, middle: int | None) -> None:
        self.culture = culture
        self.parts = parts
        self.family = family
        self.middle = middle


CULTURES = ["ru", "ru", "ua", "ar", "ar", "zh", "el", "fa", "en", "en", "in", "af", "latin",
            "latin", "ja", "ko"]


class Builder:
    """Collects the pairs of one run (one random generator: the same seed, the same set)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rows: list[dict] = []

    def pick(self, items):
        return self.rng.choice(items)

    def add(self, category: str, label: int, list_name: str, query_name: str, *,
            schema: str = "person", query_schema: str | None = None,
            aliases: tuple[str, ...] = (), list_dates: str = "", query_date: str = "",
            list_countries: str = "", query_country: str = "") -> None:
        self.rows.append({"category": category, "label": label, "schema": schema,
                          "query_schema": schema if query_schema is None else query_schema,
                          "list_name": list_name, "list_aliases": "|".join(aliases),
                          "list_birth_dates": list_dates, "list_countries": list_countries,
                          "query_name": query_name, "query_birth_date": query_date,
                          "query_country": query_country})

    def date(self) -> str:
        return (f"{self.rng.randint(1945, 1995)}-{self.rng.randint(1, 12):02d}-"
                f"{self.rng.randint(1, 28):02d}")

    def evidence(self, same: bool = True) -> dict:
        """Birth date and country for a matching pair, sometimes: the same date (or the year
        only on the list), the same country; or nothing."""
        out: dict = {}
        if self.rng.random() < 0.3:
            date = self.date()
            out["query_date"] = date
            out["list_dates"] = date if self.rng.random() < 0.6 else date[:4]
        if self.rng.random() < 0.4:
            country = self.pick(COUNTRIES)
            out["query_country"] = country
            out["list_countries"] = country if same else self.pick(
                [c for c in COUNTRIES if c != country])
        return out

    # --- people ---------------------------------------------------------------------------
    def person(self, culture: str | None = None, middle: bool = False) -> Person:
        c = culture or self.pick(CULTURES)
        pick = self.pick
        if c == "ru":
            female = self.rng.random() < 0.35
            given = pick(RU_FEMALE if female else RU_MALE)
            family = pick(RU_SURNAME)
            end_cy, end_lat = ("а", "a") if female else ("", "")
            parts = [Part(given[0], given[1]),
                     Part(family[0] + end_cy, [f + end_lat for f in family[1]])]
            if middle:
                patronymic = pick(RU_PATRONYMIC)
                parts.insert(1, Part(patronymic[1] if female else patronymic[0],
                                     [p[:-3] + "na" if female else p for p in patronymic[2]]))
                return Person(c, parts, 2, 1)
            return Person(c, parts, 1, None)
        if c == "ua":
            given, family = pick(UA_GIVEN), pick(UA_SURNAME)
            return Person(c, [Part(*given), Part(*family)], 1, None)
        if c == "ar":
            given, father, family = pick(AR_GIVEN), pick(AR_GIVEN[:15]), pick(AR_FAMILY)
            if middle or self.rng.random() < 0.5:
                return Person(c, [Part(*given), Part(*father), Part(*family)], 2, 1)
            return Person(c, [Part(*given), Part(*family)], 1, None)
        if c == "zh":
            family, given = pick(ZH_FAMILY), pick(ZH_GIVEN)
            return Person(c, [Part(family[0], [family[1]] + family[2]),
                              Part(given[0], [given[1]])], 0, None)
        if c == "el":
            return Person(c, [Part(*pick(EL_GIVEN)), Part(*pick(EL_FAMILY))], 1, None)
        if c == "fa":
            given, family = pick(FA_GIVEN), pick(FA_FAMILY)
            return Person(c, [Part(None, [given[0]] + given[1]),
                              Part(None, [family[0]] + family[1])], 1, None)
        if c == "ja":
            name = pick(JA)
            return Person(c, [Part(None, [pick(JA_PLAIN)]), Part(None, [name[0]] + name[1])],
                          0, None)
        if c == "ko":
            family, given = pick(KO_FAMILY), pick(KO_GIVEN)
            return Person(c, [Part(None, [family[0]] + family[1]),
                              Part(None, [given[0]] + given[1])], 0, None)
        if c == "latin":
            given, family = pick(DIACRITIC_GIVEN), pick(DIACRITIC_FAMILY)
            parts = [Part(None, [given[0], strip_marks(given[0])] + given[1]),
                     Part(None, [family[0], strip_marks(family[0])] + family[1])]
            if middle:
                second = pick(DIACRITIC_FAMILY)
                parts.append(Part(None, [second[0], strip_marks(second[0])] + second[1]))
                return Person(c, parts, 1, 2)
            return Person(c, parts, 1, None)
        pools = {"en": (EN_GIVEN_M + EN_GIVEN_F, EN_GIVEN_M, EN_FAMILY),
                 "in": (IN_GIVEN, IN_MIDDLE, IN_FAMILY), "af": (AF_GIVEN, AF_GIVEN, AF_FAMILY)}
        given_pool, middle_pool, family_pool = pools[c]
        parts = [Part(None, [pick(given_pool)]), Part(None, [pick(family_pool)])]
        if middle:
            parts.insert(1, Part(None, [pick([m for m in middle_pool
                                              if m != parts[0].latin[0]])]))
            return Person(c, parts, 2, 1)
        return Person(c, parts, 1, None)

    def listed(self, person: Person, skip: int | None = None) -> str:
        """The person as the list writes them (first Latin spelling of each part)."""
        return " ".join(p.latin[0] for i, p in enumerate(person.parts) if i != skip)

    def respelt(self, person: Person, skip: int | None = None) -> str:
        """The person in another Latin spelling, where the parts have one."""
        parts = [p for i, p in enumerate(person.parts) if i != skip]
        for _ in range(6):
            spelt = [self.pick(p.latin) for p in parts]
            if spelt != [p.latin[0] for p in parts]:
                break
        return " ".join(spelt)

    def in_script(self, person: Person, skip: int | None = None) -> str:
        parts = [p.script for i, p in enumerate(person.parts) if i != skip]
        return ("" if person.culture == "zh" else " ").join(parts)

    # --- the categories -------------------------------------------------------------------
    def transliterations(self) -> None:
        for culture, count in (("ru", 34), ("ua", 8), ("ar", 14), ("el", 8), ("zh", 10)):
            for n in range(count):
                person = self.person(culture)
                latin = self.respelt(person)
                script = self.in_script(person)
                if n % 3 == 2:
                    self.add("transliteration", 1, latin, script, **self.evidence())
                else:
                    self.add("transliteration", 1, script, latin, **self.evidence())
        for culture, count in (("ru", 12), ("ar", 26), ("fa", 12), ("ja", 8), ("ko", 8),
                               ("zh", 8)):
            made = 0
            while made < count:
                person = self.person(culture)
                listed, respelt = self.listed(person), self.respelt(person)
                if listed != respelt:
                    self.add("spelling_variant", 1, listed, respelt, **self.evidence())
                    made += 1

    def word_order(self) -> None:
        for n in range(30):
            person = self.person()
            listed = self.listed(person)
            family = person.parts[person.family].latin[0]
            rest = " ".join(p.latin[0] for i, p in enumerate(person.parts) if i != person.family)
            query = [f"{family.upper()}, {rest}", f"{family} {rest}",
                     f"{rest.upper()} {family.upper()}"][n % 3]
            if query.replace(",", "").lower() == listed.lower():
                query = f"{family.upper()}, {rest}"
            self.add("word_order", 1, listed, query, **self.evidence())

    def missing_middle(self) -> None:
        for n in range(36):
            person = self.person(self.pick(["ru", "ar", "en", "in", "latin"]), middle=True)
            full, short = self.listed(person), self.respelt(person, skip=person.middle)
            if person.culture == "ru" and n % 2:
                full = self.in_script(person)
            if n % 3 == 2:
                self.add("missing_middle", 1, short, full, **self.evidence())
            else:
                self.add("missing_middle", 1, full, short, **self.evidence())

    def diacritics(self) -> None:
        for n in range(34):
            person = self.person("latin")
            listed = self.listed(person)
            plain = " ".join(self.pick(p.latin[1:]) for p in person.parts)
            if n % 4 == 3:
                self.add("diacritics", 1, plain, listed, **self.evidence())
            else:
                self.add("diacritics", 1, listed, plain, **self.evidence())
        for n, (marked, plain) in enumerate(VI):
            self.add("diacritics", 1, marked, plain if n % 2 else plain.upper(),
                     **self.evidence())

    def initials(self) -> None:
        for n in range(26):
            person = self.person(self.pick(["en", "in", "ru", "latin", "af"]),
                                 middle=n % 4 in (0, 1))
            parts = [p.latin[0] for p in person.parts]
            family = person.family
            if n % 4 == 0:    # J. Smith
                query = " ".join(p if i == family else p[0] + "." for i, p in enumerate(parts)
                                 if i in (0, family))
            elif n % 4 == 1:  # John R. Smith / J R Smith
                query = " ".join(p if i in (0, family) else p[0] for i, p in enumerate(parts))
            elif n % 4 == 2:  # Smith J.
                query = f"{parts[family]} {parts[0][0]}."
            else:             # J.R. Smith
                query = "".join(p[0] + "." for i, p in enumerate(parts) if i != family) \
                    + " " + parts[family]
            self.add("initials", 1, " ".join(parts), query, **self.evidence())

    def honorifics(self) -> None:
        for n in range(20):
            person = self.person()
            listed = self.listed(person)
            title = HONORIFICS[n % len(HONORIFICS)]
            if n % 3 == 2:
                self.add("honorific", 1, f"{title} {listed}", self.respelt(person))
            else:
                self.add("honorific", 1, listed, f"{title} {self.respelt(person)}")

    def typos(self) -> None:
        made = 0
        while made < 34:
            person = self.person()
            words = self.listed(person).split()
            long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
            if not long_words:
                continue
            i = self.pick(long_words)
            words[i] = typo(self.rng, words[i])
            self.add("typo", 1, self.listed(person), " ".join(words), **self.evidence())
            made += 1

    def aliases(self) -> None:
        for n in range(16):
            person = self.person(self.pick(["ar", "ru", "fa", "en", "af"]))
            nickname = "Abu " + self.pick(["Bakr", "Hamza", "Yasin", "Khalil", "Omar"]) \
                if person.culture == "ar" else self.pick(["The Accountant", "Tiger",
                                                          "Big Sam", "Sasha K."])
            alias = self.listed(person)
            self.add("alias", 1, nickname, self.respelt(person), aliases=(alias,),
                     **self.evidence())

    def compounds(self) -> None:
        pairs = [("Abdulrahman Al-Qahtani", "Abdul Rahman Alqahtani"),
                 ("Abdul Rahman Haddad", "Abdulrahman Hadad"),
                 ("Abdullah Mansour", "Abd Allah Mansour"),
                 ("Mohammadreza Mousavi", "Mohammad Reza Musavi"),
                 ("Alireza Karimi", "Ali Reza Karimi"),
                 ("Amir Hossein Rezaei", "Amirhossein Rezaie"),
                 ("Zhang Jianguo", "Zhang Jian Guo"), ("Wang Xiaoming", "Wang Xiao Ming"),
                 ("Kim Min-jun", "Kim Min Jun"), ("Park Seoyeon", "Park Seo-yeon"),
                 ("Jean-Pierre Dubois", "Jean Pierre Dubois"),
                 ("Anne-Marie Lefebvre", "Annemarie Lefebvre"),
                 ("Abdelaziz Al Shammari", "Abdel Aziz Alshammari"),
                 ("Nasreddin Osman", "Nasr Eddin Othman"),
                 ("Mac Donald Okafor", "MacDonald Okafor"),
                 ("Fitz Gerald Moyo", "Fitzgerald Moyo")]
        for listed, query in pairs:
            self.add("compound", 1, listed, query, **self.evidence())

    def same_birth_date(self) -> None:
        for n in range(14):
            person = self.person()
            date = self.date()
            self.add("same_birth_date", 1, self.listed(person), self.respelt(person),
                     list_dates=date if n % 2 else date[:7], query_date=date,
                     list_countries=self.pick(COUNTRIES))

    def case_punctuation(self) -> None:
        for n in range(14):
            person = self.person(self.pick(["en", "latin", "af", "ar"]))
            listed = self.listed(person)
            query = [listed.upper(), listed.lower(), listed.replace(" ", " - "),
                     listed.replace("'", " ").replace("-", " ") + "."][n % 4]
            self.add("case_punctuation", 1, listed, query, **self.evidence())
        for listed, query in (("Patrick O'Brien", "PATRICK OBRIEN"),
                              ("Sean O'Connor", "Sean O Connor"),
                              ("Aisha Al-Rashid", "AISHA ALRASHID")):
            self.add("case_punctuation", 1, listed, query)

    def country_differs(self) -> None:
        for _ in range(10):
            person = self.person()
            self.add("country_differs", 1, self.listed(person), self.respelt(person),
                     **self.evidence(same=False) | {"query_country": "CY",
                                                    "list_countries": self.pick(COUNTRIES[:10])})

    # --- people who are someone else ----------------------------------------------------
    def near_miss_given(self) -> None:
        for n in range(46):
            first, second = NEAR_GIVEN[n % len(NEAR_GIVEN)]
            family = self.pick(EN_FAMILY + IN_FAMILY + AF_FAMILY + [p[1][0] for p in RU_SURNAME])
            if n % 2:
                first, second = second, first
            self.add("near_miss_given", 0, f"{first} {family}", f"{second} {family}",
                     **self.evidence_for_miss())

    def near_miss_family(self) -> None:
        for n in range(46):
            first, second = NEAR_FAMILY[n % len(NEAR_FAMILY)]
            given = self.pick(EN_GIVEN_M + IN_GIVEN + AF_GIVEN + [g[1][0] for g in RU_MALE])
            if n % 2:
                first, second = second, first
            self.add("near_miss_family", 0, f"{given} {first}", f"{given} {second}",
                     **self.evidence_for_miss())

    def evidence_for_miss(self) -> dict:
        """Countries only, the same half the time: a near miss from the same country is the
        hard case; birth dates are left out (they would make it easy)."""
        if self.rng.random() < 0.5:
            country = self.pick(COUNTRIES)
            return {"query_country": country, "list_countries": country}
        return {}

    def same_family_other_person(self) -> None:
        made = 0
        while made < 36:
            one, two = self.person(), self.person()
            if one.culture != two.culture or one.culture in ("zh", "ko"):
                continue
            given_one = one.parts[0 if one.family else 1].latin[0]
            given_two = two.parts[0 if two.family else 1].latin[0]
            if given_one[:3] == given_two[:3]:
                continue
            two.parts[two.family] = one.parts[one.family]
            self.add("same_family_other_person", 0, self.listed(one), self.listed(two),
                     **self.evidence_for_miss())
            made += 1

    def same_given_other_person(self) -> None:
        made = 0
        while made < 30:
            one, two = self.person(), self.person()
            if one.culture != two.culture or one.culture in ("zh", "ko", "ja"):
                continue
            family_one = one.parts[one.family].latin[0]
            family_two = two.parts[two.family].latin[0]
            if family_one[:3] == family_two[:3]:
                continue
            given = 0 if one.family else 1
            two.parts[given] = one.parts[given]
            self.add("same_given_other_person", 0, self.listed(one), self.listed(two),
                     **self.evidence_for_miss())
            made += 1

    def different_birth_year(self) -> None:
        for n in range(40):
            person = self.person()
            listed_date = self.date()
            gap = self.pick([2, 3, 5, 8, 12, 20]) * self.pick([1, -1])
            query_date = f"{int(listed_date[:4]) + gap}{listed_date[4:]}"
            query = self.respelt(person) if n % 2 else self.listed(person)
            self.add("different_birth_year", 0, self.listed(person), query,
                     list_dates=listed_date if n % 3 else listed_date[:4],
                     query_date=query_date)

    def different_middle_name(self) -> None:
        for _ in range(15):
            person = self.person(self.pick(["en", "in", "ru"]), middle=True)
            other = self.person(person.culture, middle=True)
            if other.parts[other.middle].latin[0][:3] == person.parts[person.middle].latin[0][:3]:
                continue
            query = [p.latin[0] for p in person.parts]
            query[person.middle] = other.parts[other.middle].latin[0]
            self.add("different_middle_name", 0, self.listed(person), " ".join(query))

    def single_shared_word(self) -> None:
        for n in range(15):
            person = self.person(self.pick(["en", "ru", "ar", "af", "in", "latin"]))
            family = person.parts[person.family].latin[0]
            if n % 2:
                self.add("single_shared_word", 0, self.listed(person), family)
            else:
                self.add("single_shared_word", 0, family, self.listed(person))

    # --- organisations ------------------------------------------------------------------
    def org(self) -> tuple[str, str, list[str]]:
        return self.pick(ORG_CORE), self.pick(ORG_BUSINESS), self.pick(LEGAL_VARIANTS)

    def org_forms(self) -> None:
        for n in range(30):
            core, business, legal = self.org()
            listed = f"{core} {business} {legal[0]}"
            other = self.pick(legal[1:]) if len(legal) > 1 and n % 3 else ""
            query = f"{core} {business} {other}".strip()
            self.add("org_form", 1, listed, query, schema="organization",
                     **self.evidence_for_org())

    def evidence_for_org(self) -> dict:
        if self.rng.random() < 0.4:
            country = self.pick(COUNTRIES)
            return {"query_country": country, "list_countries": country}
        return {}

    def org_transliterations(self) -> None:
        for n in range(16):
            core_cy, core_lat = RU_ORG[n % len(RU_ORG)]
            form_cy, forms_lat = self.pick(RU_ORG_FORMS)
            listed = f"{form_cy} «{core_cy}»"
            query = f"{core_lat} {self.pick(forms_lat)}" if n % 2 else \
                f"{self.pick(forms_lat)} {core_lat}"
            self.add("org_transliteration", 1, listed, query, schema="organization")

    def org_case_punctuation(self) -> None:
        for n in range(14):
            core, business, legal = self.org()
            listed = f"{core} {business} {legal[0]}"
            query = [f"{core.upper().replace(' ', '-')} {business.upper()} {legal[-1].upper()}",
                     f"{core} {business}, {legal[0]}.",
                     f"{core.lower()} {business.lower()} {legal[0].lower()}",
                     f"\"{core}\" {business} {legal[0]}"][n % 4]
            self.add("org_case_punctuation", 1, listed, query, schema="organization")

    def org_typos(self) -> None:
        for n in range(14):
            core, business, legal = self.org()
            words = core.split()
            i = max(range(len(words)), key=lambda k: len(words[k]))
            if len(words[i]) < 5:
                words[i] = words[i] + "s"
            else:
                words[i] = typo(self.rng, words[i])
            self.add("org_typo", 1, f"{core} {business} {legal[0]}",
                     f"{' '.join(words)} {business} {legal[0]}", schema="organization")

    def org_articles(self) -> None:
        for _ in range(6):
            core, business, legal = self.org()
            self.add("org_article", 1, f"The {core} {business} Company",
                     f"{core} {business} Co", schema="organization")

    def vessels(self) -> None:
        for n in range(6):
            core = self.pick(ORG_CORE)
            listed = f"{core.upper()}" if n % 2 else f"MV {core}"
            self.add("vessel", 1, listed, core, schema="other", query_schema="organization")

    def org_near_misses(self) -> None:
        for n in range(42):
            core, business, legal = self.org()
            near = ORG_NEAR[core]
            listed = f"{core} {business} {legal[0]}"
            query = f"{near} {business} {self.pick(legal)}"
            if n % 2:
                listed, query = query, listed
            self.add("org_near_miss", 0, listed, query, schema="organization",
                     **self.evidence_for_org())

    def org_other_business(self) -> None:
        for n in range(12):
            core, business, legal = self.org()
            other = self.pick([b for b in ORG_BUSINESS if b != business and
                               not set(b.split()) & set(business.split())])
            self.add("org_other_business", 0, f"{core} {business} {legal[0]}",
                     f"{core} {other} {legal[0]}", schema="organization")

    def org_other_name(self) -> None:
        for _ in range(10):
            core, business, legal = self.org()
            other = self.pick([c for c in ORG_CORE if c != core
                               and not set(c.split()) & set(core.split())])
            self.add("org_other_name", 0, f"{core} {business} {legal[0]}",
                     f"{other} {business} {legal[0]}", schema="organization")

    def person_against_company(self) -> None:
        for n in range(15):
            person = self.person(self.pick(["ar", "en", "ru", "af", "in"]))
            family = person.parts[person.family].latin[0]
            company = f"{family} {self.pick(ORG_BUSINESS)} {self.pick(LEGAL_VARIANTS)[0]}"
            self.add("person_against_company", 0, company, self.listed(person),
                     schema="organization", query_schema="person")

    def build(self) -> list[dict]:
        for step in (self.transliterations, self.word_order, self.missing_middle,
                     self.diacritics, self.initials, self.honorifics, self.typos,
                     self.aliases, self.compounds, self.same_birth_date,
                     self.case_punctuation, self.country_differs, self.near_miss_given,
                     self.near_miss_family, self.same_family_other_person,
                     self.same_given_other_person, self.different_birth_year,
                     self.different_middle_name, self.single_shared_word, self.org_forms,
                     self.org_transliterations, self.org_case_punctuation, self.org_typos,
                     self.org_articles, self.vessels, self.org_near_misses,
                     self.org_other_business, self.org_other_name,
                     self.person_against_company):
            step()
        seen_in_category: dict[str, int] = {}
        for number, row in enumerate(self.rows, start=1):
            count = seen_in_category.get(row["category"], 0)
            seen_in_category[row["category"]] = count + 1
            row["pair_id"] = number
            row["split"] = "tune" if count % 2 == 0 else "check"
        return self.rows

def strip_marks(text: str) -> str:
    """The name as typed on a keyboard without accents (the generator's own, simple table)."""
    table = str.maketrans("áàâäãåāéèêëēíìîïīóòôöõøōúùûüūýÿñçćčďěłńňřśšťůźżžğışțăąęőű"
                          "ÁÀÂÄÃÅĀÉÈÊËĒÍÌÎÏĪÓÒÔÖÕØŌÚÙÛÜŪÝÑÇĆČĎĚŁŃŇŘŚŠŤŮŹŻŽĞİŞȚĂĄĘŐŰ",
                          "aaaaaaaeeeeeiiiiiooooooouuuuuyyncccdelnnrsstuzzzgistaaeou"
                          "AAAAAAAEEEEEIIIIIOOOOOOOUUUUUYNCCCDELNNRSSTUZZZGISTAAEOU")
    return text.replace("ß", "ss").replace("Æ", "Ae").replace("æ", "ae").translate(table)


def typo(rng: random.Random, word: str) -> str:
    """One keyboard slip in a word of five letters or more: a letter swapped with its
    neighbour, doubled, dropped or replaced."""
    i = rng.randint(1, len(word) - 2)
    kind = rng.choice(["swap", "double", "drop", "replace"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    letters = "aeioulnrst" if word[i] not in "aeiou" else "aeiou"
    return word[:i] + rng.choice([c for c in letters if c != word[i]]) + word[i + 1:]


def main() -> None:
    rows = Builder(SEED).build()
    with OUT.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    labels = sum(int(r["label"]) for r in rows)
    print(f"{len(rows)} pairs ({labels} matches, {len(rows) - labels} non-matches) -> {OUT}")


if __name__ == "__main__":
    main()
